import type { Clearing } from './clearAuction.ts'
import type { MarketLedger } from './marketLedgerSchema.ts'
import { reconcileFeeder } from './reconcileFeeder.ts'
import type { SignedMeterReading, SignedOrder } from './signMarketData.ts'
import { SIDE_BID } from './typedData.ts'

export type LedgerIntervalParameters = {
  interval: bigint
  startMs: number
  endMs: number
  orders: readonly SignedOrder[]
  clearing: Clearing
  readings: readonly SignedMeterReading[]
  commitTx: `0x${string}` | null
  settleTx: `0x${string}` | null
  /** set once the interval is settled (its settleTx may not be known yet) */
  disputeWindowEndsAtMs: number | null
  /** the point-of-coupling meter's reading of the interval, when one was posted (the feeder check) */
  feeder?: { importWh: number; exportWh: number; toleranceBps: number; postTx: `0x${string}` | null }
}

/** One interval of a market run as the ledger keeps it (bigints as decimal strings), with its feeder check when a feeder reading was posted; finalization is filled in later. */
export function toLedgerInterval(p: LedgerIntervalParameters): MarketLedger['intervals'][number] {
  const entry: MarketLedger['intervals'][number] = {
    interval: p.interval.toString(),
    startMs: p.startMs,
    endMs: p.endMs,
    orders: p.orders.map((o) => ({ siteId: o.siteId, side: o.side === SIDE_BID ? 'bid' : 'ask', energyWh: o.energyWh, limitPrice: o.limitPrice.toString(), deadline: o.deadline.toString(), signature: { r: o.r, vs: o.vs } })),
    clearingPrice: p.clearing.price === null ? null : p.clearing.price.toString(),
    tradedWh: p.clearing.tradedWh,
    trades: p.clearing.matches.map((m) => ({ ...m })),
    readings: p.readings.map((r) => ({ siteId: r.siteId, importWh: r.importWh, exportWh: r.exportWh, signature: { r: r.r, vs: r.vs } })),
    settlement: { state: p.settleTx || p.disputeWindowEndsAtMs !== null ? 'settled' : 'no-trade', commitTx: p.commitTx, settleTx: p.settleTx, finalizeTx: null, disputeWindowEndsAtMs: p.disputeWindowEndsAtMs },
  }
  if (p.feeder) {
    const { importWh, exportWh, toleranceBps, postTx } = p.feeder
    const check = reconcileFeeder({ feeder: { importWh, exportWh }, readings: p.readings, toleranceBps })
    entry.feeder = { importWh, exportWh, ...check, toleranceBps, postTx }
  }
  return entry
}
