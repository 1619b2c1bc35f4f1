import type { LoadQuantileTable } from './calibrateLoadQuantiles.ts'

/** P10 and P90 from point forecasts (P50) and their leads (1-based slots): the forecast times the calibrated ratios. */
export function applyLoadQuantiles(table: LoadQuantileTable, p50Kw: ArrayLike<number>, lead: ArrayLike<number>): { lowKw: Float64Array; highKw: Float64Array } {
  const lowKw = new Float64Array(p50Kw.length)
  const highKw = new Float64Array(p50Kw.length)
  const last = table.lowRatio.length - 1
  for (let i = 0; i < p50Kw.length; i++) {
    const p = p50Kw[i] ?? Number.NaN
    // Beyond the calibrated leads the last block's spread is the best estimate.
    const b = Math.min(last, Math.max(0, Math.floor(((lead[i] ?? 1) - 1) / table.leadBlockSlots)))
    const lowRatio = table.lowRatio[b] ?? Number.NaN
    const highRatio = table.highRatio[b] ?? Number.NaN
    // Never a band that excludes the median: a ratio on the wrong side of 1 is clipped to 1.
    lowKw[i] = Math.max(0, p * Math.min(1, lowRatio))
    highKw[i] = p * Math.max(1, highRatio)
  }
  return { lowKw, highKw }
}
