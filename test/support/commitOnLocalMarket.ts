import type { Hex } from 'viem'
import { commitClearing } from '../../core/chain/commitClearing.ts'
import { committedSiteRefs } from '../../core/chain/committedSiteRefs.ts'
import type { Clearing } from '../../core/market/clearAuction.ts'
import { encodeClearing, type EncodedClearing } from '../../core/market/encodeClearing.ts'
import type { SignedOrder } from '../../core/market/signMarketData.ts'
import type { LocalMarket } from './createLocalMarket.ts'

/** createLiveOperator's `commit` on a development market: commitClearing from the operator's wallet, mined, with the site refs settle() needs kept per interval. */
export function commitOnLocalMarket(lm: LocalMarket) {
  const committed = new Map<bigint, { encoded: EncodedClearing; siteRefs: bigint[]; hash: Hex }>()
  return {
    committed,
    async commit(clearing: Clearing, orders: readonly SignedOrder[]): Promise<Hex> {
      const encoded = encodeClearing(clearing, orders)
      const hash = await commitClearing(lm.wallet, lm.market, encoded)
      const receipt = await lm.client.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new Error(`commitClearing for interval ${clearing.interval}: transaction ${hash} ended with status '${receipt.status}'; expected success`)
      committed.set(clearing.interval, { encoded, siteRefs: await committedSiteRefs(lm.client, lm.market, encoded, receipt), hash })
      return hash
    },
  }
}
