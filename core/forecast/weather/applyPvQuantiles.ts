import type { PvQuantileTable } from './calibratePvQuantiles.ts'

export type ApplyPvQuantilesParameters = {
  table: PvQuantileTable
  /** The point forecast (P50) and the clear-sky power of each slot, kW, and each slot's lead from the issue. */
  powerKw: readonly number[]
  clearSkyKw: readonly number[]
  leadMs: readonly number[]
  peakPowerKw: number
}

/** PV P10 and P90 per slot: the forecast plus its lead block's residual quantiles times clear sky, within 0 and the peak, around the P50. */
export function applyPvQuantiles(p: ApplyPvQuantilesParameters): { p10Kw: number[]; p90Kw: number[] } {
  const blockOf = (leadMs: number) => p.table.blocks.find((b) => leadMs < b.toLeadMs) ?? p.table.blocks[p.table.blocks.length - 1]!
  const p10Kw = p.powerKw.map((kw, i) => Math.min(kw, Math.max(0, kw + blockOf(p.leadMs[i]!).low * p.clearSkyKw[i]!)))
  const p90Kw = p.powerKw.map((kw, i) => Math.max(kw, Math.min(p.peakPowerKw, kw + blockOf(p.leadMs[i]!).high * p.clearSkyKw[i]!)))
  return { p10Kw, p90Kw }
}
