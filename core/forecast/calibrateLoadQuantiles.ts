/** Calibrated load quantiles as ratios to the point forecast (P50), per block of lead times: scale-free, like the model. */
export type LoadQuantileTable = {
  /** The probability below the low and below the high quantile: 0.1 and 0.9 (P10 and P90). */
  low: number
  high: number
  /** Leads are grouped in blocks of this many slots: block b holds leads b * leadBlockSlots + 1 .. (b + 1) * leadBlockSlots. */
  leadBlockSlots: number
  /** actual / forecast at the low and the high quantile, one per block. */
  lowRatio: number[]
  highRatio: number[]
  /** Residuals behind each block (a block with fewer than `minimumBlockSamples` takes the previous block's ratios). */
  samples: number[]
}

export type CalibrateLoadQuantilesParameters = {
  actualKw: ArrayLike<number>
  predictedKw: ArrayLike<number>
  /** The lead (1-based, in slots) of each forecast. */
  lead: ArrayLike<number>
  maxLeadSlots: number
  leadBlockSlots: number
  low?: number | undefined
  high?: number | undefined
}

export const minimumBlockSamples = 30

/**
 * Split-conformal quantiles: on a calibration window the model never trained on, the empirical quantiles of
 * actual / forecast per lead block, with the finite-sample correction (rank ceil((n + 1) q)), so on new days
 * of the same kind about `high - low` of the outcomes land between the low and the high quantile.
 */
export function calibrateLoadQuantiles(parameters: CalibrateLoadQuantilesParameters): LoadQuantileTable {
  const { actualKw, predictedKw, lead, maxLeadSlots, leadBlockSlots } = parameters
  const low = parameters.low ?? 0.1
  const high = parameters.high ?? 0.9
  if (!(leadBlockSlots >= 1) || !Number.isInteger(leadBlockSlots)) throw new RangeError(`calibrateLoadQuantiles: leadBlockSlots must be a whole number >= 1, got ${leadBlockSlots}`)
  if (!(low > 0 && low < high && high < 1)) throw new RangeError(`calibrateLoadQuantiles: expected 0 < low < high < 1, got low ${low}, high ${high}`)
  const blocks = Math.ceil(maxLeadSlots / leadBlockSlots)
  const ratios: number[][] = Array.from({ length: blocks }, () => [])
  for (let i = 0; i < actualKw.length; i++) {
    const a = actualKw[i] ?? Number.NaN
    const p = predictedKw[i] ?? Number.NaN
    const k = lead[i] ?? 0
    if (!Number.isFinite(a) || !Number.isFinite(p) || p <= 0 || k < 1 || k > maxLeadSlots) continue
    ratios[Math.floor((k - 1) / leadBlockSlots)]?.push(a / p)
  }
  const lowRatio: number[] = []
  const highRatio: number[] = []
  const samples: number[] = []
  for (let b = 0; b < blocks; b++) {
    const sorted = Float64Array.from(ratios[b] ?? []).sort()
    const n = sorted.length
    samples.push(n)
    if (n < minimumBlockSamples) {
      // Too few residuals to say anything: carry the previous block (or a no-spread band at the start).
      lowRatio.push(lowRatio[b - 1] ?? Number.NaN)
      highRatio.push(highRatio[b - 1] ?? Number.NaN)
      continue
    }
    lowRatio.push(sorted[Math.max(0, Math.floor((n + 1) * low) - 1)] ?? Number.NaN)
    highRatio.push(sorted[Math.min(n - 1, Math.ceil((n + 1) * high) - 1)] ?? Number.NaN)
  }
  // Leading blocks without data take the first block that has some.
  const first = lowRatio.findIndex(Number.isFinite)
  for (let b = 0; b < first; b++) {
    lowRatio[b] = lowRatio[first] ?? Number.NaN
    highRatio[b] = highRatio[first] ?? Number.NaN
  }
  return { low, high, leadBlockSlots, lowRatio, highRatio, samples }
}
