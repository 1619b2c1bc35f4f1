import { MarketInputError } from './MarketInputError.ts'
import { SIDE_ASK, SIDE_BID, type Order } from './typedData.ts'

/** One trade of a clearing: `energyWh` from the seller's ask to the buyer's bid. */
export type Match = { sellerSiteId: number; buyerSiteId: number; energyWh: number }

export type Clearing = {
  interval: bigint
  /** uniform price, settlement-token base units per kWh; null when nothing trades */
  price: bigint | null
  matches: Match[]
  tradedWh: number
}

function compareBids(a: Order, b: Order): number {
  if (a.limitPrice !== b.limitPrice) return a.limitPrice > b.limitPrice ? -1 : 1
  return a.siteId - b.siteId
}

function compareAsks(a: Order, b: Order): number {
  if (a.limitPrice !== b.limitPrice) return a.limitPrice < b.limitPrice ? -1 : 1
  return a.siteId - b.siteId
}

/**
 * Uniform-price double auction over one interval's signed orders; every site recomputes it.
 *
 * - Bids sort by limit descending, asks by limit ascending; equal limits by site id
 *   ascending (each site has at most one order per interval, so the order is total and
 *   the result does not depend on the order the orders arrived in).
 * - The best remaining bid and ask trade min(their remaining energy) while bid >= ask.
 * - Price: floor((b + a) / 2) of the last matched bid b and ask a, so every matched bid
 *   is >= price and every matched ask <= price; every buyer pays exactly what its seller
 *   receives (budget balanced).
 */
export function clearAuction(interval: bigint, orders: readonly Order[]): Clearing {
  const seen = new Set<number>()
  for (const [i, o] of orders.entries()) {
    const where = `orders[${i}] (site ${o.siteId})`
    if (o.interval !== interval) throw new MarketInputError(where, `interval ${interval}`, `interval ${o.interval}`)
    if (!Number.isInteger(o.siteId) || o.siteId < 0 || o.siteId > 0xffffffff) throw new MarketInputError(`${where}.siteId`, 'an integer 0..2^32-1', String(o.siteId))
    if (seen.has(o.siteId)) throw new MarketInputError(where, 'one order per site and interval', 'a second order')
    seen.add(o.siteId)
    if (!Number.isInteger(o.energyWh) || o.energyWh <= 0 || o.energyWh > 0xffffffff)
      throw new MarketInputError(`${where}.energyWh`, 'an integer 1..2^32-1', String(o.energyWh))
    if (o.limitPrice < 0n) throw new MarketInputError(`${where}.limitPrice`, 'a price >= 0', String(o.limitPrice))
    if (o.side !== SIDE_BID && o.side !== SIDE_ASK)
      throw new MarketInputError(`${where}.side`, `${SIDE_BID} (bid) or ${SIDE_ASK} (ask)`, String(o.side))
  }
  const bids = orders.filter((o) => o.side === SIDE_BID).sort(compareBids)
  const asks = orders.filter((o) => o.side === SIDE_ASK).sort(compareAsks)
  const matches: Match[] = []
  let bi = 0
  let ai = 0
  let bidLeft = bids[0]?.energyWh ?? 0
  let askLeft = asks[0]?.energyWh ?? 0
  let lastBid: bigint | null = null
  let lastAsk: bigint | null = null
  let tradedWh = 0
  while (bi < bids.length && ai < asks.length) {
    const bid = bids[bi]!
    const ask = asks[ai]!
    if (bid.limitPrice < ask.limitPrice) break
    const energyWh = Math.min(bidLeft, askLeft)
    matches.push({ sellerSiteId: ask.siteId, buyerSiteId: bid.siteId, energyWh })
    tradedWh += energyWh
    lastBid = bid.limitPrice
    lastAsk = ask.limitPrice
    bidLeft -= energyWh
    askLeft -= energyWh
    if (bidLeft === 0) bidLeft = bids[++bi]?.energyWh ?? 0
    if (askLeft === 0) askLeft = asks[++ai]?.energyWh ?? 0
  }
  const price = lastBid === null || lastAsk === null ? null : (lastBid + lastAsk) / 2n
  return { interval, price, matches, tradedWh }
}
