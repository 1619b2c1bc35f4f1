import type { Address, PublicClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'

/** A site's escrow in the market: its free balance plus its reserved bond (the locks of committed, unfinalized intervals are out of the free balance until finalize), now or at `blockNumber`. */
export async function readEscrow(client: Pick<PublicClient, 'readContract'>, market: Address, siteId: number, blockNumber?: bigint): Promise<bigint> {
  const read = (functionName: 'balanceOf' | 'bondOf') => client.readContract({ address: market, abi: energyMarketAbi, functionName, args: [siteId], ...(blockNumber !== undefined && { blockNumber }) })
  const [free, bond] = await Promise.all([read('balanceOf'), read('bondOf')])
  return free + bond
}
