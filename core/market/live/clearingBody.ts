import { hashTypedData } from 'viem'
import type { Clearing } from '../clearAuction.ts'
import type { MarketDomain, Order } from '../typedData.ts'
import { liveTypes, type SignedClearingBody } from './liveTypedData.ts'

/** The EIP-712 digest of an order: how a clearing names the orders it used. */
export function orderDigest(domain: MarketDomain, order: Order): `0x${string}` {
  return hashTypedData({ domain, types: liveTypes, primaryType: 'Order', message: order })
}

/** What the operator signs for a clearing: its price, matches and the digests of the orders it cleared (site id ascending). */
export function clearingBody(domain: MarketDomain, clearing: Clearing, orders: readonly Order[], deadline: bigint): SignedClearingBody {
  return {
    interval: clearing.interval,
    priced: clearing.price !== null,
    price: clearing.price ?? 0n,
    orders: [...orders].sort((a, b) => a.siteId - b.siteId).map((o) => orderDigest(domain, o)),
    matches: clearing.matches.map((m) => ({ ...m })),
    deadline,
  }
}
