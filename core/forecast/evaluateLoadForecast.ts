import type * as tf from '@tensorflow/tfjs'
import type { FeatureContext } from './buildFeatures.ts'
import { forecastSeasonalNaive } from './forecastSeasonalNaive.ts'
import { fitHoltWinters, forecastHoltWinters, type HoltWintersParameters } from './holtWinters.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'
import { scoreForecasts, type ForecastScore } from './scoreForecasts.ts'
import { localMidnights } from './localMidnights.ts'
import { applyLoadQuantiles } from './applyLoadQuantiles.ts'
import { calibrateRecentQuantiles, recentCalibrationDays } from './calibrateRecentQuantiles.ts'

export const forecastMethods = ['model', 'seasonalNaiveDay', 'seasonalNaiveWeek', 'holtWinters'] as const
export type ForecastMethod = (typeof forecastMethods)[number]

export type LeadScore = ForecastScore & { lead: number; leadMinutes: number }

/** How often the outcomes fell inside the calibrated P10-P90 band on the test days. */
export type QuantileCoverage = {
  /** Where the band's ratios came from. */
  source: string
  /** Share of known outcomes inside [P10, P90], below P10 and above P90 (percent). */
  coveragePct: number
  belowLowPct: number
  aboveHighPct: number
  /** Mean band width over the mean outcome (percent). */
  meanWidthPct: number
  count: number
  targetCoveragePct: [number, number]
  targetMet: boolean
}

/** The issue's bar: day-ahead MAPE this much below the better seasonal naive, and below Holt-Winters. */
export const targetReductionPct = 30
export const targetCoveragePct: [number, number] = [70, 90]

export type EvaluateLoadForecastResult = {
  testWindow: { fromIso: string; toIso: string; days: number; slotMinutes: number; timeZone: string }
  dayAhead: { horizonSlots: number; overall: Record<ForecastMethod, ForecastScore>; perLead: Record<ForecastMethod, LeadScore[]> }
  rollingOneStep: { overall: Record<ForecastMethod, ForecastScore> }
  holtWintersParameters: HoltWintersParameters
  /** Day-ahead P10-P90 coverage of the rolling calibration (as the site forecaster does it); absent without any calibration. */
  quantiles?: QuantileCoverage
  /** The same with the fixed ratios calibrated on the training's validation days (metadata.quantiles). */
  quantilesFromTraining?: QuantileCoverage
  summary: { betterSeasonalNaive: ForecastMethod; dayAheadMapeReductionPct: number; targetReductionPct: number; beatsHoltWinters: boolean; targetMet: boolean }
}

/** Scores the model and the baselines on the slots in [testStart, testEnd): day-ahead from each local midnight, and rolling one step ahead. */
export function evaluateLoadForecast(parameters: {
  context: FeatureContext
  model: tf.LayersModel
  metadata: LoadModelMetadata
  testStart: number
  /** End of the test slots (exclusive); default: the end of the series. Nothing at or after it is scored. */
  testEnd?: number | undefined
  horizonSlots: number
}): EvaluateLoadForecastResult {
  const { context, model, metadata, testStart, horizonSlots: horizon } = parameters
  const { series, slotsPerDay: spd } = context
  const y = series.loadKw.subarray(0, Math.min(parameters.testEnd ?? series.loadKw.length, series.loadKw.length))
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

  const coverageOf = (source: string, lowKw: Float64Array, highKw: Float64Array): QuantileCoverage => {
    let inside = 0
    let below = 0
    let above = 0
    let count = 0
    let width = 0
    let level = 0
    for (let i = 0; i < actual.length; i++) {
      const a = actual[i] ?? Number.NaN
      const lo = lowKw[i] ?? Number.NaN
      const hi = highKw[i] ?? Number.NaN
      if (!Number.isFinite(a) || !Number.isFinite(lo) || !Number.isFinite(hi)) continue
      count++
      if (a < lo) below++
      else if (a > hi) above++
      else inside++
      width += hi - lo
      level += a
    }
    const coveragePct = count ? (100 * inside) / count : Number.NaN
    return {
      source,
      coveragePct,
      belowLowPct: count ? (100 * below) / count : Number.NaN,
      aboveHighPct: count ? (100 * above) / count : Number.NaN,
      meanWidthPct: level ? (100 * width) / level : Number.NaN,
      count,
      targetCoveragePct,
      targetMet: coveragePct >= targetCoveragePct[0] && coveragePct <= targetCoveragePct[1],
    }
  }
  // What the site forecaster does: each day's band from the model's errors on the 28 days before it (rolling
  // conformal), else the training's calibration.
  const recentLow = new Float64Array(actual.length).fill(Number.NaN)
  const recentHigh = new Float64Array(actual.length).fill(Number.NaN)
  let recentDays = 0
  midnights.forEach((m, i) => {
    const recent = calibrateRecentQuantiles({ model, metadata, context, issue: m, maxLeadSlots: horizon })
    const table = recent ?? metadata.quantiles
    if (!table) return
    if (recent) recentDays++
    const band = applyLoadQuantiles(table, forecasts.model.subarray(i * horizon, (i + 1) * horizon), requests.lead.subarray(i * horizon, (i + 1) * horizon))
    recentLow.set(band.lowKw, i * horizon)
    recentHigh.set(band.highKw, i * horizon)
  })
  const quantiles = recentDays > 0 || metadata.quantiles ? coverageOf(`the model's errors on the ${recentCalibrationDays} days before each day (${recentDays} of ${midnights.length} days; the others from training)`, recentLow, recentHigh) : undefined
  const fromTraining = metadata.quantiles ? applyLoadQuantiles(metadata.quantiles, forecasts.model, requests.lead) : undefined
  const quantilesFromTraining = fromTraining && metadata.quantiles ? coverageOf(`training's validation days ${metadata.quantiles.fromIso.slice(0, 10)} to ${metadata.quantiles.toIso.slice(0, 10)}`, fromTraining.lowKw, fromTraining.highKw) : undefined

  const betterSeasonalNaive: ForecastMethod = overall.seasonalNaiveDay.mapePct <= overall.seasonalNaiveWeek.mapePct ? 'seasonalNaiveDay' : 'seasonalNaiveWeek'
  const reduction = 100 * (1 - overall.model.mapePct / overall[betterSeasonalNaive].mapePct)
  const beatsHoltWinters = overall.model.mapePct < overall.holtWinters.mapePct
  return {
    testWindow: { fromIso: new Date(series.startMs + testStart * series.slotMs).toISOString(), toIso: new Date(series.startMs + n * series.slotMs).toISOString(), days: midnights.length, slotMinutes: series.slotMs / 60_000, timeZone: metadata.timeZone },
    dayAhead: { horizonSlots: horizon, overall, perLead },
    rollingOneStep: { overall: rolling },
    holtWintersParameters,
    ...(quantiles ? { quantiles } : {}),
    ...(quantilesFromTraining ? { quantilesFromTraining } : {}),
    summary: { betterSeasonalNaive, dayAheadMapeReductionPct: reduction, targetReductionPct, beatsHoltWinters, targetMet: reduction >= targetReductionPct && beatsHoltWinters },
  }
}
