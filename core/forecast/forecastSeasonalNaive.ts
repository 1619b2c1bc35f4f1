import type { FeatureContext } from './buildFeatures.ts'

/** Seasonal naive: each slot repeats the same local wall-clock slot `periodDays` earlier (or a multiple, so it is known at the issue slot). */
export function forecastSeasonalNaive(context: FeatureContext, issue: number, horizon: number, periodDays: number): Float64Array {
  const { series, grid, slotsPerDay: spd } = context
  const out = new Float64Array(horizon)
  for (let lead = 1; lead <= horizon; lead++) {
    const t = issue + lead - 1
    let days = periodDays * Math.ceil(lead / (periodDays * spd))
    let j = -1
    for (let attempt = 0; attempt < 2; attempt++) {
      const j0 = t - days * spd
      j = j0 < 0 ? -1 : j0 + Math.round(((grid.offsetMs[t] ?? 0) - (grid.offsetMs[j0] ?? 0)) / series.slotMs)
      if (j < issue) break
      days += periodDays
    }
    out[lead - 1] = j >= 0 && j < issue ? (series.loadKw[j] ?? Number.NaN) : Number.NaN
  }
  return out
}
