import { createFeatureContext } from './createFeatureContext.ts'
import { evaluateLoadForecast, forecastMethods, targetCoveragePct, targetReductionPct, type ForecastMethod, type QuantileCoverage } from './evaluateLoadForecast.ts'
import { localMidnights } from './localMidnights.ts'
import { modelFromArtifacts } from './modelFromArtifacts.ts'
import type { ForecastScore } from './scoreForecasts.ts'
import type { LoadSeries } from './toRegularSeries.ts'
import type { TrainLoadModelParameters, TrainLoadModelResult } from './trainLoadModel.ts'

const dayMs = 86_400_000

export type CrossValidationFold = {
  fold: number
  train: { fromIso: string; toIso: string; samples: number; epochs: number; bestEpoch: number; durationMs: number; seed: number | undefined }
  test: { fromIso: string; toIso: string; days: number }
  dayAhead: Record<ForecastMethod, ForecastScore>
  betterSeasonalNaive: ForecastMethod
  dayAheadMapeReductionPct: number
  beatsHoltWinters: boolean
  targetMet: boolean
  quantiles?: QuantileCoverage | undefined
  quantilesFromTraining?: QuantileCoverage | undefined
}

export type CrossValidateLoadForecastResult = {
  folds: CrossValidationFold[]
  settings: { foldMonths: number; minimumTrainingDays: number; horizonSlots: number; epochs: number | undefined; maxSamples: number | undefined; seed: number | undefined; timeZone: string }
  summary: {
    folds: number
    foldsMet: number
    allMet: boolean
    worstReductionPct: number
    foldsBeatingHoltWinters: number
    foldsCoverageMet: number
    /** Mean of the folds' day-ahead MAPE per method. */
    meanMapePct: Record<ForecastMethod, number>
    targetReductionPct: number
    targetCoveragePct: [number, number]
  }
}

export type CrossValidateLoadForecastParameters = {
  series: LoadSeries
  timeZone: string
  source: string
  /** Each fold's origin is a local midnight on the 1st of every `foldMonths`-th month (1, 3 = quarters, 12); it tests until the next origin. */
  foldMonths?: number | undefined
  /** The first origin has at least this much history before it (default 180 days). */
  minimumTrainingDays?: number | undefined
  /** Keep only the last this many folds. */
  maxFolds?: number | undefined
  horizonSlots: number
  withTemperature?: boolean | undefined
  epochs?: number | undefined
  maxSamples?: number | undefined
  seed?: number | undefined
  /** Trains one fold (trainLoadModel, or trainInWorker); the caller picks the backend. */
  train: (parameters: TrainLoadModelParameters) => Promise<TrainLoadModelResult>
  onFold?: ((fold: CrossValidationFold, index: number, count: number) => void) | undefined
}

/** The fold origins: local midnights starting a month with (month - 1) % foldMonths === 0, each with its test end. */
export function crossValidationOrigins(series: LoadSeries, timeZone: string, foldMonths: number, minimumTrainingDays: number): { start: number; end: number }[] {
  const context = createFeatureContext(series, timeZone, 0, false)
  const n = series.loadKw.length
  const spd = context.slotsPerDay
  const starts = localMidnights(context, 1, n).filter((m) => {
    const date = new Date((context.grid.localDay[m] ?? 0) * dayMs)
    return date.getUTCDate() === 1 && date.getUTCMonth() % foldMonths === 0 && m >= minimumTrainingDays * spd
  })
  return starts
    .map((start, i) => ({ start, end: starts[i + 1] ?? n }))
    .filter((fold) => fold.end - fold.start >= 7 * spd)
}

/**
 * Rolling-origin cross-validation: for each origin, train only on the history before it, then score the model
 * and the baselines (seasonal naive day and week, double-seasonal Holt-Winters) day-ahead from every local
 * midnight up to the next origin. Folds move through the seasons and years of the series.
 */
export async function crossValidateLoadForecast(parameters: CrossValidateLoadForecastParameters): Promise<CrossValidateLoadForecastResult> {
  const { series, timeZone, horizonSlots } = parameters
  const foldMonths = parameters.foldMonths ?? 3
  if (![1, 2, 3, 4, 6, 12].includes(foldMonths)) throw new RangeError(`crossValidateLoadForecast: foldMonths must divide 12 (1, 2, 3, 4, 6 or 12), got ${foldMonths}`)
  const minimumTrainingDays = parameters.minimumTrainingDays ?? 180
  let origins = crossValidationOrigins(series, timeZone, foldMonths, minimumTrainingDays)
  if (parameters.maxFolds !== undefined) origins = origins.slice(-parameters.maxFolds)
  if (origins.length === 0) {
    const days = (series.loadKw.length * series.slotMs) / dayMs
    throw new RangeError(`cross-validation needs a fold origin (the 1st of a month) after ${minimumTrainingDays} days of history and 7 days before the end; the series has ${days.toFixed(1)} days`)
  }
  const maxLead = 2 * Math.round(dayMs / series.slotMs)
  const context = createFeatureContext(series, timeZone, maxLead, parameters.withTemperature)
  const folds: CrossValidationFold[] = []
  for (const [index, origin] of origins.entries()) {
    const trained = await parameters.train({
      series,
      timeZone,
      source: parameters.source,
      endIndex: origin.start,
      epochs: parameters.epochs,
      maxSamples: parameters.maxSamples,
      withTemperature: context.withTemperature,
      seed: parameters.seed,
    })
    const model = await modelFromArtifacts(trained.artifacts)
    const result = evaluateLoadForecast({ context, model, metadata: trained.metadata, testStart: origin.start, testEnd: origin.end, horizonSlots })
    model.dispose()
    const t = trained.metadata.training
    const fold: CrossValidationFold = {
      fold: index + 1,
      train: { fromIso: t.fromIso, toIso: trained.metadata.validation.toIso, samples: t.samples, epochs: t.epochs, bestEpoch: t.bestEpoch, durationMs: t.durationMs, seed: t.seed },
      test: { fromIso: result.testWindow.fromIso, toIso: result.testWindow.toIso, days: result.testWindow.days },
      dayAhead: result.dayAhead.overall,
      betterSeasonalNaive: result.summary.betterSeasonalNaive,
      dayAheadMapeReductionPct: result.summary.dayAheadMapeReductionPct,
      beatsHoltWinters: result.summary.beatsHoltWinters,
      targetMet: result.summary.targetMet,
      quantiles: result.quantiles,
      quantilesFromTraining: result.quantilesFromTraining,
    }
    folds.push(fold)
    parameters.onFold?.(fold, index, origins.length)
  }
  const meanMapePct = Object.fromEntries(forecastMethods.map((m) => [m, folds.reduce((s, f) => s + f.dayAhead[m].mapePct, 0) / folds.length])) as Record<ForecastMethod, number>
  return {
    folds,
    settings: { foldMonths, minimumTrainingDays, horizonSlots, epochs: parameters.epochs, maxSamples: parameters.maxSamples, seed: parameters.seed, timeZone },
    summary: {
      folds: folds.length,
      foldsMet: folds.filter((f) => f.targetMet).length,
      allMet: folds.every((f) => f.targetMet),
      worstReductionPct: Math.min(...folds.map((f) => f.dayAheadMapeReductionPct)),
      foldsBeatingHoltWinters: folds.filter((f) => f.beatsHoltWinters).length,
      foldsCoverageMet: folds.filter((f) => f.quantiles?.targetMet === true).length,
      meanMapePct,
      targetReductionPct,
      targetCoveragePct,
    },
  }
}
