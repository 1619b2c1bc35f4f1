import { scoreForecasts, type ForecastScore } from './scoreForecasts.ts'

/** A stored forecast: when it was made and what it said, one value per slot from `startMs`. */
export type IssuedForecast = { createdAtMs: number; model: string; startMs: number; slotMs: number; valuesW: readonly number[] }

export type MeasureForecastAccuracyParameters = {
  /** The period scored, usually one local day: [fromMs, toMs), on the slot grid. */
  fromMs: number
  toMs: number
  slotMs: number
  /** Forecasts made up to `toMs`, in any order. */
  forecasts: readonly IssuedForecast[]
  /** What happened: the mean power of each slot by its start (slots from `fromMs - 1 day` are used by the naive baseline). */
  actualW: ReadonlyMap<number, number>
  /** Lead of the short-horizon score: the latest forecast made at most this long before the slot (default 1 h). */
  shortLeadMs?: number
}

export type AccuracySlot = { startMs: number; actualW: number | null; dayAheadW: number | null; shortW: number | null; seasonalNaiveW: number | null }

export type ForecastAccuracy = {
  fromMs: number
  toMs: number
  /** The forecast made at the start of the period (issued at most half a slot after it), for the whole period. */
  dayAhead: (ForecastScore & { issuedAtMs: number; model: string }) | null
  /** For each slot, the latest forecast made at least one slot and at most `shortLeadMs` before it. */
  short: (ForecastScore & { leadMs: number }) | null
  /** Same slot one day earlier, scored on the same slots: what the forecast has to beat. */
  seasonalNaive: ForecastScore | null
  slots: AccuracySlot[]
}

const dayMs = 86_400_000

const nullable = (score: ForecastScore): ForecastScore | null => (score.count === 0 ? null : score)

function valueAt(f: IssuedForecast, startMs: number, slotMs: number): number | null {
  // A forecast at another slot length still answers: the value of the slot that contains this one's middle.
  const index = Math.floor((startMs + slotMs / 2 - f.startMs) / f.slotMs)
  const v = index >= 0 ? f.valuesW[index] : undefined
  return v === undefined || !Number.isFinite(v) ? null : v
}

/**
 * Scores stored forecasts against what happened, as an operator asks it: how good was the
 * day-ahead forecast for yesterday, how good are the short-lead ones, and how would "same
 * as the day before" have done. Pure: the caller reads forecasts and actuals from the store.
 */
export function measureForecastAccuracy(parameters: MeasureForecastAccuracyParameters): ForecastAccuracy {
  const { fromMs, toMs, slotMs, actualW } = parameters
  const shortLeadMs = parameters.shortLeadMs ?? 3_600_000
  const forecasts = [...parameters.forecasts].sort((a, b) => a.createdAtMs - b.createdAtMs)
  const covers = (f: IssuedForecast, t: number) => valueAt(f, t, slotMs) !== null
  let dayAhead: IssuedForecast | null = null
  for (const f of forecasts) if (f.createdAtMs <= fromMs + slotMs / 2 && covers(f, fromMs)) dayAhead = f
  const slots: AccuracySlot[] = []
  for (let t = fromMs; t < toMs; t += slotMs) {
    let short: IssuedForecast | null = null
    for (const f of forecasts) {
      if (f.createdAtMs > t - slotMs) break
      if (f.createdAtMs >= t - shortLeadMs && covers(f, t)) short = f
    }
    slots.push({
      startMs: t,
      actualW: actualW.get(t) ?? null,
      dayAheadW: dayAhead ? valueAt(dayAhead, t, slotMs) : null,
      shortW: short ? valueAt(short, t, slotMs) : null,
      seasonalNaiveW: actualW.get(t - dayMs) ?? null,
    })
  }
  const kw = (pick: (s: AccuracySlot) => number | null) => slots.map((s) => (pick(s) ?? Number.NaN) / 1000)
  const actualKw = kw((s) => s.actualW)
  const dayAheadScore = dayAhead ? nullable(scoreForecasts(actualKw, kw((s) => s.dayAheadW))) : null
  const shortScore = nullable(scoreForecasts(actualKw, kw((s) => s.shortW)))
  // The baseline is scored where the day-ahead forecast is, so the two numbers compare.
  const naiveKw = kw((s) => (dayAhead && s.dayAheadW === null ? null : s.seasonalNaiveW))
  return {
    fromMs,
    toMs,
    dayAhead: dayAhead && dayAheadScore ? { ...dayAheadScore, issuedAtMs: dayAhead.createdAtMs, model: dayAhead.model } : null,
    short: shortScore ? { ...shortScore, leadMs: shortLeadMs } : null,
    seasonalNaive: nullable(scoreForecasts(actualKw, naiveKw)),
    slots,
  }
}
