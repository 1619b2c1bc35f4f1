import { keccak256, type Address, type Hex } from 'viem'
import type { Clearing } from './clearAuction.ts'
import { MarketInputError } from './MarketInputError.ts'
import type { SignedMeterReading, SignedOrder } from './signMarketData.ts'
import type { Order } from './typedData.ts'

/** A clearing in the contract's calldata layout (see EnergyMarket.commitClearing/settle). */
export type EncodedClearing = {
  interval: bigint
  price: bigint
  /** the committed sites (matched, and with includeUnmatched every order's), ascending by id */
  siteIds: number[]
  /** their signed orders, in `siteIds` order */
  orders: SignedOrder[]
  /** sellerPos << 40 | buyerPos << 32 | energyWh, positions into `siteIds` */
  matches: bigint[]
}

/** One word per committed site as settle() takes it: side << 224 | energyWh << 192 | siteId << 160 |
 * limitPrice << 96 | the meter key's tag (low 96 bits of keccak256 of the address, what the
 * contract keeps per site). The commit snapshots the order's fields so the clearing hash binds
 * them (EnergyMarket.commitClearing, AuctionVerifier.proveClearing). */
export function packSiteRef(siteId: number, meterKey: Address, order: Pick<Order, 'side' | 'energyWh' | 'limitPrice'>): bigint {
  return (
    (BigInt(order.side) << 224n) |
    (BigInt(order.energyWh) << 192n) |
    (BigInt(siteId) << 160n) |
    (order.limitPrice << 96n) |
    (BigInt(keccak256(meterKey)) & ((1n << 96n) - 1n))
  )
}

const fits = (value: bigint, bits: bigint) => typeof value === 'bigint' && value >= 0n && value < 1n << bits
/** A number field: an integer (BigInt() throws a RangeError on NaN or 1.5) in range. */
const fitsNumber = (value: number, bits: bigint) => Number.isSafeInteger(value) && fits(BigInt(value), bits)

/** The meta settle() takes in place of a reading a site withheld (bit 255 alone): the site
 * settles at its worst case (see EnergyMarket.settle); allowed only after the reading grace. */
export const ABSENT_READING_META = 1n << 255n

const ZERO_WORD: Hex = `0x${'0'.repeat(64)}`

/** packReading, or the absent marker for a reading nobody has (null). */
export function packSettleReading(reading: SignedMeterReading | null): { meta: bigint; r: Hex; vs: Hex } {
  return reading === null ? { meta: ABSENT_READING_META, r: ZERO_WORD, vs: ZERO_WORD } : packReading(reading)
}

/** The calldata form of a signed reading: meta = interval << 64 | importWh << 32 | exportWh. */
export function packReading(reading: SignedMeterReading): { meta: bigint; r: Hex; vs: Hex } {
  // Out-of-range fields would spill into their neighbours' bits: a reading the meter never signed.
  const { siteId, interval, importWh, exportWh } = reading
  if (!fitsNumber(importWh, 32n) || !fitsNumber(exportWh, 32n) || !fits(interval, 64n))
    throw new MarketInputError(`reading of site ${siteId}`, 'importWh and exportWh integers below 2^32, interval below 2^64', `interval ${interval}, importWh ${importWh}, exportWh ${exportWh}`)
  const meta = (reading.interval << 64n) | (BigInt(reading.importWh) << 32n) | BigInt(reading.exportWh)
  return { meta, r: reading.r, vs: reading.vs }
}

/** The calldata form of a signed order: meta = siteId << 200 | interval << 168 | side << 160 |
 * energyWh << 128 | limitPrice << 64 | deadline (the contract's SignedOrder). */
export function packOrder(order: SignedOrder): { meta: bigint; r: Hex; vs: Hex } {
  const { siteId, interval, side, energyWh, limitPrice, deadline } = order
  if (!fitsNumber(siteId, 32n) || !fits(interval, 32n) || !fitsNumber(side, 8n) || !fitsNumber(energyWh, 32n) || !fits(limitPrice, 64n) || !fits(deadline, 64n))
    throw new MarketInputError(`order of site ${siteId}`, 'siteId, energyWh and interval below 2^32, side below 2^8, limitPrice and deadline below 2^64', `interval ${interval}, energyWh ${energyWh}, limitPrice ${limitPrice}, deadline ${deadline}`)
  const meta =
    (BigInt(siteId) << 200n) | (interval << 168n) | (BigInt(side) << 160n) | (BigInt(energyWh) << 128n) | (limitPrice << 64n) | deadline
  return { meta, r: order.r, vs: order.vs }
}

/** The inverse of packOrder: the signed order a meta word and its signature stand for (a
 * step's calldata, see decodeStep). Bits above the site id are not an order's: refused. */
export function unpackOrder(meta: bigint, r: Hex, vs: Hex): SignedOrder {
  if (meta >> 232n !== 0n) throw new MarketInputError('order meta', 'no bit above the site id (bit 232 up)', `0x${meta.toString(16)}`)
  const side = Number((meta >> 160n) & 0xffn)
  if (side !== 0 && side !== 1) throw new MarketInputError('order meta', 'side 0 (bid) or 1 (ask)', String(side))
  return {
    siteId: Number((meta >> 200n) & 0xffffffffn),
    interval: (meta >> 168n) & 0xffffffffn,
    side,
    energyWh: Number((meta >> 128n) & 0xffffffffn),
    limitPrice: (meta >> 64n) & 0xffffffffffffffffn,
    deadline: meta & 0xffffffffffffffffn,
    r,
    vs,
  }
}

/** The inverse of packSettleReading for the site `siteId` (a reading's meta does not carry it):
 * null for the absent marker. */
export function unpackSettleReading(siteId: number, meta: bigint, r: Hex, vs: Hex): SignedMeterReading | null {
  if (meta === ABSENT_READING_META) return null
  return { siteId, interval: meta >> 64n, importWh: Number((meta >> 32n) & 0xffffffffn), exportWh: Number(meta & 0xffffffffn), r, vs }
}

export type EncodeClearingOptions = {
  /** commit every signed order, matched or not, so the clearing hash binds them all and a
   * clearing that leaves one out of the matching can be proven (AuctionVerifier); each of
   * them then settles with a reading too. Default: only the matched sites' orders. */
  includeUnmatched?: boolean
}

/** Lays a clearing and its signed orders out for commitClearing and settle. */
export function encodeClearing(clearing: Clearing, signedOrders: readonly SignedOrder[], { includeUnmatched = false }: EncodeClearingOptions = {}): EncodedClearing {
  if (clearing.price === null) throw new MarketInputError(`interval ${clearing.interval}`, 'a clearing with trades', 'no trades')
  const bySite = new Map(signedOrders.map((o) => [o.siteId, o]))
  const committed = includeUnmatched ? signedOrders.map((o) => o.siteId) : clearing.matches.flatMap((m) => [m.sellerSiteId, m.buyerSiteId])
  const siteIds = [...new Set(committed)].sort((a, b) => a - b)
  const position = new Map(siteIds.map((id, i) => [id, i]))
  const orders = siteIds.map((id) => {
    const order = bySite.get(id)
    if (!order) throw new MarketInputError(`interval ${clearing.interval}: site ${id}`, 'its signed order', 'none')
    return order
  })
  const matches = clearing.matches.map(
    (m) =>
      (BigInt(position.get(m.sellerSiteId)!) << 40n) | (BigInt(position.get(m.buyerSiteId)!) << 32n) | BigInt(m.energyWh),
  )
  return { interval: clearing.interval, price: clearing.price, siteIds, orders, matches }
}

/** The matches of an encoded clearing as positions into its `siteIds` (the inverse of encodeClearing's match words). */
export function decodeMatches(words: readonly bigint[]): { sellerPos: number; buyerPos: number; energyWh: number }[] {
  return words.map((m) => ({ sellerPos: Number((m >> 40n) & 0xffn), buyerPos: Number((m >> 32n) & 0xffn), energyWh: Number(m & 0xffffffffn) }))
}
