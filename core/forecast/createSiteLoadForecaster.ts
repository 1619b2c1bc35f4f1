import type * as tf from '@tensorflow/tfjs'
import { createCalendar } from './createCalendar.ts'
import { createFeatureContext } from './createFeatureContext.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'
import { applyLoadQuantiles } from './applyLoadQuantiles.ts'
import { calibrateRecentQuantiles, recentCalibrationDays } from './calibrateRecentQuantiles.ts'
import type { LoadSeries } from './toRegularSeries.ts'

const dayMs = 86_400_000

/** A trained load model as readLoadModel returns it. */
export type SiteLoadModel = { model: tf.LayersModel; metadata: LoadModelMetadata }

export type SiteLoadForecastParameters = {
  /** Measured slot averages before `fromMs`, at any one slot length, in any order, possibly with holes. */
  history: { startMs: number; loadW: number }[]
  fromMs: number
  slotMs: number
  slots: number
}

export type SiteLoadForecast = {
  /** One value per requested slot, in W, never NaN. */
  loadW: number[]
  method: 'model' | 'seasonal-naive'
  /** Why the model was not used (or which slots it could not cover). */
  reason?: string
  /**
   * Load quantiles per requested slot, in W (P50 is `loadW`): 10 % of outcomes should fall below
   * `loadP10W` and 10 % above `loadP90W`. Absent when no calibration exists (seasonal naive without history).
   */
  loadP10W?: number[]
  loadP90W?: number[]
  /** Where the P10/P90 came from, e.g. 'site history: 14 days' or 'model calibration 2014-07-25 to 2014-11-05'. */
  quantileSource?: string
}

export type SiteLoadForecaster = {
  forecast: (parameters: SiteLoadForecastParameters) => SiteLoadForecast
  /** Swaps in another model (e.g. one retrained on the site's history); null goes back to seasonal naive. */
  setModel: (model: SiteLoadModel | null) => void
}

export type CreateSiteLoadForecasterParameters = {
  /** The site's IANA time zone: calendar features and "same slot yesterday" are local. */
  timeZone: string
  model?: SiteLoadModel | undefined
  holidays?: ((utcMs: number) => boolean) | undefined
}

/** A load forecaster for one site: the TF model when a week of history exists, else seasonal naive, at any slot length. */
export function createSiteLoadForecaster(parameters: CreateSiteLoadForecasterParameters): SiteLoadForecaster {
  const calendar = createCalendar(parameters.timeZone)
  let current = parameters.model ?? null

  const forecast = (request: SiteLoadForecastParameters): SiteLoadForecast => {
    const { fromMs, slotMs, slots } = request
    if (!(slotMs > 0) || !(slots >= 0) || !Number.isInteger(slots)) throw new RangeError(`forecast: expected slotMs > 0 and a whole number of slots, got slotMs ${slotMs}, slots ${slots}`)
    const history = request.history.filter((h) => h.startMs < fromMs && Number.isFinite(h.loadW) && Number.isFinite(h.startMs))
    const naive = () => seasonalNaive(history, fromMs, slotMs, slots, calendar.offsetMs)
    if (!current) return { ...naive(), reason: 'no model' }
    const { model, metadata } = current
    const m = metadata.slotMs
    const spd = metadata.slotsPerDay
    if (metadata.features.withTemperature) return { ...naive(), reason: 'the model needs temperature, which the site history does not have' }
    if (history.length === 0) return { ...naive(), reason: 'no history' }
    // The model issues from the start of a slot of its own grid: a partly elapsed slot counts as unknown.
    const issueMs = Math.floor(fromMs / m) * m
    const firstMs = Math.floor(Math.min(...history.map((h) => h.startMs)) / m) * m
    const n = Math.round((issueMs - firstMs) / m)
    if (n < 7 * spd + 1) {
      return { ...naive(), reason: `${((n * m) / dayMs).toFixed(2)} days of history; the model needs 7 days + 1 slot for its lags` }
    }
    // The last 8 days are all the lags and the level read; 28 more calibrate the P10/P90 on the site's own errors.
    const keep = Math.min(n, (8 + recentCalibrationDays) * spd + 1)
    const startMs = issueMs - keep * m
    const loadKw = resample(history, startMs, m, keep)
    for (let i = 0; i < keep; i++) loadKw[i] = (loadKw[i] ?? Number.NaN) / 1000
    const lastMs = fromMs + slots * slotMs
    const leads = Math.max(1, Math.ceil((lastMs - issueMs) / m))
    const modelLeads = Math.min(leads, metadata.maxLeadSlots)
    const holiday = parameters.holidays ? Uint8Array.from({ length: keep + modelLeads + 1 }, (_, i) => (parameters.holidays!(startMs + i * m) ? 1 : 0)) : undefined
    const series: LoadSeries = { startMs, slotMs: m, loadKw, temperatureC: undefined, holiday }
    const context = createFeatureContext(series, parameters.timeZone, modelLeads, false)
    const predicted = predictLoad(model, metadata, context, { issue: new Int32Array(modelLeads).fill(keep), lead: Int32Array.from({ length: modelLeads }, (_, k) => k + 1) })
    const fallback = naive().loadW
    // P10/P90: the site's own errors over the last 4 weeks when it has them, else the training's calibration.
    const leadsOfModel = Int32Array.from({ length: modelLeads }, (_, k) => k + 1)
    const recent = calibrateRecentQuantiles({ model, metadata, context, issue: keep, maxLeadSlots: modelLeads })
    const table = recent ?? metadata.quantiles
    const band = table ? applyLoadQuantiles(table, predicted, leadsOfModel) : undefined
    const quantileSource = recent
      ? `the model's errors on this site over the last ${Math.min(recentCalibrationDays, Math.floor((keep - 7 * spd - 1) / spd))} days`
      : metadata.quantiles
        ? `the model's calibration ${metadata.quantiles.fromIso.slice(0, 10)} to ${metadata.quantiles.toIso.slice(0, 10)} on its training data (${metadata.training.source}); the site has less than 3 weeks of history to calibrate its own`
        : undefined
    let filled = 0
    /** A model slot covers every requested slot inside it; a longer requested slot averages the model slots it spans. */
    const onRequestedSlot = (values: ArrayLike<number>, k: number): number => {
      const t0 = fromMs + k * slotMs
      const t1 = t0 + slotMs
      let sum = 0
      let weight = 0
      for (let j = Math.floor((t0 - issueMs) / m); j * m + issueMs < t1; j++) {
        const value = j < modelLeads ? (values[j] ?? Number.NaN) * 1000 : Number.NaN
        if (!Number.isFinite(value)) continue
        const overlap = Math.min(t1, issueMs + (j + 1) * m) - Math.max(t0, issueMs + j * m)
        sum += value * overlap
        weight += overlap
      }
      return weight >= slotMs / 2 ? sum / weight : Number.NaN
    }
    const loadW = Array.from({ length: slots }, (_, k) => {
      const value = onRequestedSlot(predicted, k)
      if (Number.isFinite(value)) return value
      filled++
      return fallback[k] ?? 0
    })
    if (filled === slots && slots > 0) return { loadW, method: 'seasonal-naive', reason: 'the last week of history has too many holes for the model\'s lags and level' }
    const quantiles =
      band && table && quantileSource
        ? (() => {
            // A slot from seasonal naive gets the band of the model's last lead block around its value.
            const last = table.lowRatio.length - 1
            const lowOf = (k: number) => onRequestedSlot(band.lowKw, k)
            const highOf = (k: number) => onRequestedSlot(band.highKw, k)
            const loadP10W = loadW.map((w, k) => (Number.isFinite(lowOf(k)) ? Math.min(w, lowOf(k)) : w * Math.min(1, table.lowRatio[last] ?? 1)))
            const loadP90W = loadW.map((w, k) => (Number.isFinite(highOf(k)) ? Math.max(w, highOf(k)) : w * Math.max(1, table.highRatio[last] ?? 1)))
            return { loadP10W, loadP90W, quantileSource }
          })()
        : {}
    return filled > 0 ? { loadW, method: 'model', reason: `${filled} of ${slots} slots from seasonal naive (beyond the model's ${metadata.maxLeadSlots}-slot horizon or missing lags)`, ...quantiles } : { loadW, method: 'model', ...quantiles }
  }

  return {
    forecast,
    setModel: (model) => {
      current = model
    },
  }
}

/** Time-weighted means of the history on a regular grid (NaN where less than half of a slot was measured). */
function resample(history: { startMs: number; loadW: number }[], startMs: number, slotMs: number, count: number): Float64Array {
  const sorted = [...history].sort((a, b) => a.startMs - b.startMs)
  // The history's own slot length: the shortest step between samples (holes only make steps longer).
  let stepMs = Number.POSITIVE_INFINITY
  for (let i = 1; i < sorted.length; i++) {
    const d = sorted[i]!.startMs - sorted[i - 1]!.startMs
    if (d > 0 && d < stepMs) stepMs = d
  }
  if (!Number.isFinite(stepMs)) stepMs = slotMs
  const sum = new Float64Array(count)
  const covered = new Float64Array(count)
  for (const h of sorted) {
    const a = h.startMs
    const b = a + stepMs
    for (let j = Math.max(0, Math.floor((a - startMs) / slotMs)); j < count && startMs + j * slotMs < b; j++) {
      const overlap = Math.min(b, startMs + (j + 1) * slotMs) - Math.max(a, startMs + j * slotMs)
      if (overlap <= 0) continue
      sum[j] = (sum[j] ?? 0) + h.loadW * overlap
      covered[j] = (covered[j] ?? 0) + overlap
    }
  }
  const out = new Float64Array(count)
  for (let j = 0; j < count; j++) out[j] = (covered[j] ?? 0) >= slotMs / 2 ? (sum[j] ?? 0) / (covered[j] ?? 1) : Number.NaN
  return out
}

/** Same local wall-clock slot on the most recent known day (up to a week back), else the mean of the history. */
function seasonalNaive(history: { startMs: number; loadW: number }[], fromMs: number, slotMs: number, slots: number, offsetMs: (utcMs: number) => number): SiteLoadForecast {
  if (history.length === 0) return { loadW: new Array<number>(slots).fill(0), method: 'seasonal-naive' }
  const firstMs = Math.floor(Math.min(...history.map((h) => h.startMs)) / slotMs) * slotMs
  const count = Math.max(0, Math.ceil((fromMs - firstMs) / slotMs))
  const grid = resample(history, firstMs, slotMs, count)
  const known = history.map((h) => h.loadW)
  const mean = known.reduce((a, b) => a + b, 0) / known.length
  const at = (t: number): number => {
    const j = Math.floor((t - firstMs) / slotMs)
    return j >= 0 && j < count && t + slotMs <= fromMs ? (grid[j] ?? Number.NaN) : Number.NaN
  }
  const loadW = Array.from({ length: slots }, (_, k) => {
    const t = fromMs + k * slotMs
    for (let days = 1; days <= 7; days++) {
      const back = t - days * dayMs
      // DST-safe: the same wall-clock time, shifted by the change in UTC offset.
      const v = at(back + offsetMs(t) - offsetMs(back))
      if (Number.isFinite(v)) return v
    }
    return mean
  })
  return { loadW, method: 'seasonal-naive' }
}
