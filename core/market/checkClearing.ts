import { clearAuction, type Clearing } from './clearAuction.ts'
import type { EncodedClearing } from './encodeClearing.ts'
import type { Order } from './typedData.ts'

export type CheckClearingResult = {
  /** the committed clearing is the auction of the committed orders */
  honest: boolean
  /** the auction of the committed orders (orders of 0 Wh take no part, as on chain) */
  expected: Clearing
  /** its matches as commit takes them: sellerPos << 40 | buyerPos << 32 | energyWh, positions into committed.siteIds */
  expectedMatches: bigint[]
  /** what differs, for a log line; empty when honest */
  differences: string[]
}

/**
 * A site's check of a committed clearing: recomputes the deterministic auction
 * (clearAuction) of the orders the operator committed and compares price and matches with
 * what it committed. When it differs, AuctionVerifier.proveClearing (core/chain/proveClearing.ts)
 * takes the committed clearing as it is and proves it on chain.
 *
 * What it cannot see: an order the operator never committed. Only the committed orders are
 * bound on chain; a site whose order is missing from `committed.orders` knows it, but
 * nothing on chain forces its inclusion (see contracts/README.md, threat model).
 */
export function checkClearing(
  orders: readonly Order[],
  committed: Pick<EncodedClearing, 'interval' | 'price' | 'siteIds' | 'matches'>,
): CheckClearingResult {
  const expected = clearAuction(
    committed.interval,
    orders.filter((o) => o.energyWh !== 0),
  )
  const position = new Map(committed.siteIds.map((id, k) => [id, k]))
  const differences: string[] = []
  const expectedMatches: bigint[] = []
  for (const m of expected.matches) {
    const sp = position.get(m.sellerSiteId)
    const bp = position.get(m.buyerSiteId)
    if (sp === undefined || bp === undefined) {
      differences.push(`the auction matches site ${m.sellerSiteId} -> ${m.buyerSiteId}, which is not among the committed sites`)
      continue
    }
    expectedMatches.push((BigInt(sp) << 40n) | (BigInt(bp) << 32n) | BigInt(m.energyWh))
  }
  const describe = (w: bigint) =>
    `${committed.siteIds[Number((w >> 40n) & 0xffn)]} -> ${committed.siteIds[Number((w >> 32n) & 0xffn)]} ${w & 0xffffffffn} Wh`
  if (committed.matches.length !== expectedMatches.length || committed.matches.some((w, i) => w !== expectedMatches[i]))
    differences.push(`matches [${committed.matches.map(describe).join(', ')}]; the auction's [${expectedMatches.map(describe).join(', ')}]`)
  if (committed.matches.length > 0 && expected.price !== committed.price)
    differences.push(`price ${committed.price}; the auction's ${expected.price ?? 'none (no trade)'}`)
  return { honest: differences.length === 0, expected, expectedMatches, differences }
}
