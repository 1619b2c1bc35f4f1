import type { Clearing } from './clearAuction.ts'
import type { MeterReading } from './typedData.ts'

export type SettlementMatch = { sellerPos: number; buyerPos: number; energyWh: number }

export type ComputeSettlementParameters = {
  /** token base units per kWh */
  price: bigint
  penaltyBps: bigint
  /** readings[k] belongs to the clearing's k-th site (ascending site id); null when the
   * site withheld it: a seller then delivered nothing, a buyer took all it bought, and a
   * withholding buyer also pays the penalty on all it bought (its worst case) */
  readings: readonly (Pick<MeterReading, 'importWh' | 'exportWh'> | null)[]
  /** in committed order */
  matches: readonly SettlementMatch[]
}

export type Settlement = {
  deltas: bigint[]
  /** what commit locked per site: a buyer's full value plus the penalty, a seller's penalty on all it sold */
  locks: bigint[]
  /** credited to each site at finality: lock + delta (never negative) */
  releases: bigint[]
  tradedWh: number
  settledWh: number
}

/**
 * The balance change of every site of a settled interval, exactly as the contract
 * computes it: matches consume each side's delivered energy in committed order, the
 * paid energy is min(traded, seller's remaining export, buyer's remaining import), and
 * each side pays a penalty on its own shortfall to its counterparty: a seller `penaltyBps`
 * of the price, a buyer max(penaltyBps, 100 %) (never less than the energy).
 * A withheld reading (null) settles at the withholder's worst case. Commit locks each
 * site's worst case; finalize credits lock + delta.
 */
export function computeSettlement({ price, penaltyBps, readings, matches }: ComputeSettlementParameters): Settlement {
  const absent = readings.map((r) => r === null)
  // a buyer's shortfall never costs less than the energy: max(penaltyBps, 100 %)
  const buyerPenaltyBps = penaltyBps < 10_000n ? 10_000n : penaltyBps
  // a withholding buyer takes everything it bought; a withholding seller delivered nothing
  const net = readings.map((r) => (r === null ? -Infinity : r.exportWh - r.importWh))
  const remaining = net.map((x) => Math.abs(x))
  const deltas = readings.map(() => 0n)
  let tradedWh = 0
  let settledWh = 0
  for (const { sellerPos: s, buyerPos: b, energyWh: e } of matches) {
    const sAvail = net[s]! > 0 ? Math.min(e, remaining[s]!) : 0
    const bAvail = net[b]! < 0 ? Math.min(e, remaining[b]!) : 0
    const paid = Math.min(sAvail, bAvail)
    if (net[s]! > 0) remaining[s]! -= sAvail
    if (net[b]! < 0) remaining[b]! -= bAvail
    const value = (BigInt(paid) * price) / 1000n
    const sPenalty = (BigInt(e - sAvail) * price * penaltyBps) / 10_000_000n
    const bPenalty = (BigInt(absent[b] ? e : e - bAvail) * price * buyerPenaltyBps) / 10_000_000n
    const toSeller = value + bPenalty - sPenalty
    deltas[s]! += toSeller
    deltas[b]! -= toSeller
    tradedWh += e
    settledWh += paid
  }
  const soldWh = readings.map(() => 0n)
  const boughtWh = readings.map(() => 0n)
  for (const { sellerPos, buyerPos, energyWh } of matches) {
    soldWh[sellerPos]! += BigInt(energyWh)
    boughtWh[buyerPos]! += BigInt(energyWh)
  }
  const locks = readings.map((_, k) => (soldWh[k]! * price * penaltyBps) / 10_000_000n + (boughtWh[k]! * price * (10_000n + buyerPenaltyBps)) / 10_000_000n)
  const releases = locks.map((lock, k) => lock + deltas[k]!)
  return { deltas, locks, releases, tradedWh, settledWh }
}

/**
 * computeSettlement for a clearing as sites see it (matches by site id): its traders in
 * ascending id order (as encodeClearing orders them), what commit locks of each and what
 * settlement moves; `readingOf` gives a trader's reading (null or absent: withheld). Without
 * readings only the locks mean anything.
 */
export function settleClearing(clearing: { price: bigint; matches: readonly Clearing['matches'][number][] }, penaltyBps: bigint, readingOf: (siteId: number) => Pick<MeterReading, 'importWh' | 'exportWh'> | null = () => null) {
  const siteIds = [...new Set(clearing.matches.flatMap((m) => [m.sellerSiteId, m.buyerSiteId]))].sort((a, b) => a - b)
  const position = new Map(siteIds.map((id, k) => [id, k]))
  const matches = clearing.matches.map((m) => ({ sellerPos: position.get(m.sellerSiteId)!, buyerPos: position.get(m.buyerSiteId)!, energyWh: m.energyWh }))
  const { locks, deltas } = computeSettlement({ price: clearing.price, penaltyBps, readings: siteIds.map(readingOf), matches })
  return { siteIds, locks, deltas }
}

/** What a committed clearing locks out of each of its sites' free balance until finalize, by site id (none without a price). */
export function clearingLocks(clearing: Pick<Clearing, 'price' | 'matches'>, penaltyBps: bigint): Map<number, bigint> {
  if (clearing.price === null) return new Map()
  const { siteIds, locks } = settleClearing({ price: clearing.price, matches: clearing.matches }, penaltyBps)
  return new Map(siteIds.map((id, k) => [id, locks[k]!]))
}
