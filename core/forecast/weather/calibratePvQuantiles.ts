const hourMs = 3_600_000

/** One past forecast slot against what was measured: (measured - forecast) / clear-sky power, daylight slots only. */
export type PvResidual = { leadMs: number; residual: number }

/** P10 and P90 of the residual (in clear-sky units) per block of lead times. */
export type PvQuantileTable = {
  blocks: { toLeadMs: number; low: number; high: number; samples: number; calibrated: boolean }[]
  /** In words: how many residuals, or the prior where too few. */
  source: string
}

/** Lead blocks: the first hours, the rest of today, the next day, beyond. */
export const pvLeadBlocksMs = [3 * hourMs, 12 * hourMs, 24 * hourMs, Number.POSITIVE_INFINITY] as const

const quantile = (sorted: number[], p: number) => {
  const x = (sorted.length - 1) * p
  const i = Math.floor(x)
  return sorted[i]! + (sorted[Math.min(sorted.length - 1, i + 1)]! - sorted[i]!) * (x - i)
}

/**
 * Empirical P10/P90 of a site's own PV forecast residuals by lead block (split conformal: the
 * residuals of past forecasts against the production measured since). A block with fewer
 * than `minSamples` daylight residuals takes a prior that widens with the lead (a tenth of
 * clear sky plus a quarter times the square root of the lead in days), and says so.
 */
export function calibratePvQuantiles(residuals: readonly PvResidual[], options: { minSamples?: number; low?: number; high?: number } = {}): PvQuantileTable {
  const minSamples = options.minSamples ?? 100
  const low = options.low ?? 0.1
  const high = options.high ?? 0.9
  let from = 0
  const blocks = pvLeadBlocksMs.map((toLeadMs) => {
    const inBlock = residuals.filter((r) => r.leadMs >= from && r.leadMs < toLeadMs).map((r) => r.residual).sort((a, b) => a - b)
    const midLeadMs = Number.isFinite(toLeadMs) ? (from + toLeadMs) / 2 : from + 12 * hourMs
    from = toLeadMs
    if (inBlock.length < minSamples) {
      const spread = 0.1 + 0.25 * Math.sqrt(midLeadMs / (24 * hourMs))
      return { toLeadMs, low: -spread, high: spread, samples: inBlock.length, calibrated: false }
    }
    return { toLeadMs, low: Math.min(0, quantile(inBlock, low)), high: Math.max(0, quantile(inBlock, high)), samples: inBlock.length, calibrated: true }
  })
  const names = ['0-3 h', '3-12 h', '12-24 h', '24 h+']
  const prior = names.filter((_, i) => !blocks[i]!.calibrated)
  const source =
    prior.length === blocks.length ? `prior (fewer than ${minSamples} daylight residuals per lead block)`
    : `site residuals: ${residuals.length} daylight slots${prior.length ? `; prior for leads ${prior.join(', ')}` : ''}`
  return { blocks, source }
}
