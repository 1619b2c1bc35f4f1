import { clearSkyPvPower, type PvSite } from './clearSkyPvPower.ts'
import { daylightPvSamples } from './daylightPvSamples.ts'

export type ForecastPvPersistenceParameters = {
  site: PvSite
  fromMs: number
  slotMs: number
  slots: number
  /** Measured production: slot averages (kW) stamped at their slots' midpoints, before `fromMs`. */
  history: { timesMs: ArrayLike<number>; powerKw: ArrayLike<number> }
  /** Days whose measured / clear-sky ratio is the long-run clearness (default 7). */
  climatologyDays?: number | undefined
  /** Daylight samples whose ratio is the current clearness (default 4: the last hour of daylight at 15 min). */
  recentSamples?: number | undefined
  /** How fast the current clearness fades into the long-run one, e-folding time (default 6 h). */
  persistenceMs?: number | undefined
  /**
   * Long-run clearness as this quantile of the window's hourly measured / clear-sky ratios
   * instead of their energy-weighted mean: a plan that loses more when PV beats the forecast
   * than when it falls short should plan on a quantile above the median (newsvendor).
   */
  climatologyQuantile?: number | undefined
}

export type ForecastPvPersistenceResult = {
  powerKw: number[]
  /** Measured / clear-sky over the climatology window (1 without daylight history). */
  climatology: number
  /** Measured / clear-sky over the last daylight samples (the climatology without them). */
  current: number
  /** Age of the last daylight sample at `fromMs`. */
  currentAgeMs: number
}

const dayMs = 86_400_000

/**
 * Smart persistence for PV: clear-sky power times a clearness index that starts at the
 * last measured daylight hour's and relaxes towards the last week's mean as the lead
 * grows (weather persists for hours, not days).
 */
export function forecastPvPersistence(parameters: ForecastPvPersistenceParameters): ForecastPvPersistenceResult {
  const { site, fromMs, slotMs, slots, history } = parameters
  const climatologyMs = (parameters.climatologyDays ?? 7) * dayMs
  const recentSamples = parameters.recentSamples ?? 4
  const persistenceMs = parameters.persistenceMs ?? 6 * 3_600_000
  const daylight = daylightPvSamples(site, history, fromMs, climatologyMs)
  const ratio = (samples: typeof daylight, fallback: number) => {
    const clear = samples.reduce((s, x) => s + x.clear, 0)
    return samples.length > 0 && clear > 0 ? Math.min(1.3, Math.max(0, samples.reduce((s, x) => s + x.measured, 0) / clear)) : fallback
  }
  let climatology = ratio(daylight, 1)
  const q = parameters.climatologyQuantile
  if (q !== undefined && daylight.length > 0) {
    const hours = new Map<number, typeof daylight>()
    for (const d of daylight) {
      const key = Math.floor(d.t / 3_600_000)
      hours.set(key, [...(hours.get(key) ?? []), d])
    }
    const ratios = [...hours.values()].map((h) => ratio(h, climatology)).sort((a, b) => a - b)
    climatology = ratios[Math.min(ratios.length - 1, Math.max(0, Math.floor(q * ratios.length)))] ?? climatology
  }
  const recent = daylight.slice(-recentSamples)
  const current = ratio(recent, climatology)
  const lastMs = recent.length > 0 ? recent[recent.length - 1]!.t : Number.NEGATIVE_INFINITY
  const powerKw = Array.from({ length: slots }, (_, k) => {
    const mid = fromMs + k * slotMs + slotMs / 2
    const weight = Math.exp(-(mid - lastMs) / persistenceMs)
    return clearSkyPvPower(site, mid).powerKw * (climatology + (current - climatology) * weight)
  })
  return { powerKw, climatology, current, currentAgeMs: fromMs - lastMs }
}
