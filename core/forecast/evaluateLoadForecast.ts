import type * as tf from '@tensorflow/tfjs'
import type { FeatureContext } from './buildFeatures.ts'
import { forecastSeasonalNaive } from './forecastSeasonalNaive.ts'
import { fitHoltWinters, forecastHoltWinters, type HoltWintersParameters } from './holtWinters.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'
import { scoreForecasts, type ForecastScore } from './scoreForecasts.ts'
import { localMidnights } from './localMidnights.ts'

export const forecastMethods = ['model', 'seasonalNaiveDay', 'seasonalNaiveWeek', 'holtWinters'] as const
export type ForecastMethod = (typeof forecastMethods)[number]

export type LeadScore = ForecastScore & { lead: number; leadMinutes: number }

export type EvaluateLoadForecastResult = {
  testWindow: { fromIso: string; toIso: string; days: number; slotMinutes: number; timeZone: string }
  dayAhead: { horizonSlots: number; overall: Record<ForecastMethod, ForecastScore>; perLead: Record<ForecastMethod, LeadScore[]> }
  rollingOneStep: { overall: Record<ForecastMethod, ForecastScore> }
  holtWintersParameters: HoltWintersParameters
  summary: { betterSeasonalNaive: ForecastMethod; dayAheadMapeReductionPct: number; targetReductionPct: number; targetMet: boolean }
}

/** Scores the model and the baselines on the slots from `testStart`: day-ahead from each local midnight, and rolling one step ahead. */
export function evaluateLoadForecast(parameters: {
  context: FeatureContext
  model: tf.LayersModel
  metadata: LoadModelMetadata
  testStart: number
  horizonSlots: number
}): EvaluateLoadForecastResult {
  const { context, model, metadata, testStart, horizonSlots: horizon } = parameters
  const { series, slotsPerDay: spd } = context
  const y = series.loadKw
  const n = y.length
  const midnights = localMidnights(context, testStart, n)
  const forecasts = {} as Record<ForecastMethod, Float64Array>
  const actual = new Float64Array(midnights.length * horizon)
  const requests = { issue: new Int32Array(midnights.length * horizon), lead: new Int32Array(midnights.length * horizon) }
  midnights.forEach((m, i) => {
    for (let k = 0; k < horizon; k++) {
      requests.issue[i * horizon + k] = m
      requests.lead[i * horizon + k] = k + 1
      actual[i * horizon + k] = m + k < n ? (y[m + k] ?? Number.NaN) : Number.NaN
    }
  })
  forecasts.model = predictLoad(model, metadata, context, requests)
  for (const [method, days] of [['seasonalNaiveDay', 1], ['seasonalNaiveWeek', 7]] as const) {
    const out = new Float64Array(midnights.length * horizon)
    midnights.forEach((m, i) => out.set(forecastSeasonalNaive(context, m, horizon, days), i * horizon))
    forecasts[method] = out
  }
  const holtWintersParameters = fitHoltWinters(y, spd, testStart)
  const warmStart = Math.max(0, testStart - 20 * 7 * spd)
  forecasts.holtWinters = forecastHoltWinters(y, spd, holtWintersParameters, warmStart, Int32Array.from(midnights), horizon)

  const overall = {} as Record<ForecastMethod, ForecastScore>
  const perLead = {} as Record<ForecastMethod, LeadScore[]>
  for (const method of forecastMethods) {
    const predicted = forecasts[method]
    overall[method] = scoreForecasts(actual, predicted)
    perLead[method] = Array.from({ length: horizon }, (_, k) => {
      const a: number[] = []
      const p: number[] = []
      for (let i = 0; i < midnights.length; i++) {
        a.push(actual[i * horizon + k] ?? Number.NaN)
        p.push(predicted[i * horizon + k] ?? Number.NaN)
      }
      return { lead: k + 1, leadMinutes: ((k + 1) * series.slotMs) / 60_000, ...scoreForecasts(a, p) }
    })
  }

  const stepIssues = Int32Array.from({ length: n - testStart }, (_, i) => testStart + i)
  const stepActual = y.subarray(testStart)
  const rolling = {} as Record<ForecastMethod, ForecastScore>
  rolling.model = scoreForecasts(stepActual, predictLoad(model, metadata, context, { issue: stepIssues, lead: new Int32Array(stepIssues.length).fill(1) }))
  rolling.seasonalNaiveDay = scoreForecasts(stepActual, Float64Array.from(stepIssues, (issue) => forecastSeasonalNaive(context, issue, 1, 1)[0] ?? Number.NaN))
  rolling.seasonalNaiveWeek = scoreForecasts(stepActual, Float64Array.from(stepIssues, (issue) => forecastSeasonalNaive(context, issue, 1, 7)[0] ?? Number.NaN))
  rolling.holtWinters = scoreForecasts(stepActual, forecastHoltWinters(y, spd, holtWintersParameters, warmStart, stepIssues, 1))

  const betterSeasonalNaive: ForecastMethod = overall.seasonalNaiveDay.mapePct <= overall.seasonalNaiveWeek.mapePct ? 'seasonalNaiveDay' : 'seasonalNaiveWeek'
  const reduction = 100 * (1 - overall.model.mapePct / overall[betterSeasonalNaive].mapePct)
  return {
    testWindow: { fromIso: new Date(series.startMs + testStart * series.slotMs).toISOString(), toIso: new Date(series.startMs + n * series.slotMs).toISOString(), days: midnights.length, slotMinutes: series.slotMs / 60_000, timeZone: metadata.timeZone },
    dayAhead: { horizonSlots: horizon, overall, perLead },
    rollingOneStep: { overall: rolling },
    holtWintersParameters,
    summary: { betterSeasonalNaive, dayAheadMapeReductionPct: reduction, targetReductionPct: 25, targetMet: reduction >= 25 },
  }
}
