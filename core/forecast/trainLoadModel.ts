import * as tf from '@tensorflow/tfjs'
import { buildFeatures, featureNames } from './buildFeatures.ts'
import { calibrateModelQuantiles } from './calibrateModelQuantiles.ts'
import { oneHot } from './oneHot.ts'
import { localMidnights } from './localMidnights.ts'
import { createFeatureContext } from './createFeatureContext.ts'
import { createLoadModel, defaultArchitecture, type LoadModelArchitecture } from './createLoadModel.ts'
import { ForecastInputError, ForecastTrainingError } from './errors.ts'
import { forecastSeasonalNaive } from './forecastSeasonalNaive.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'
import { scoreForecasts } from './scoreForecasts.ts'
import type { LoadSeries } from './toRegularSeries.ts'
import { createSeededRandom } from '../random/createSeededRandom.ts'

export type ModelArtifacts = { modelTopology: object; weightSpecs: tf.io.WeightsManifestEntry[]; weightData: ArrayBuffer }

export type TrainProgress = { epoch: number; epochs: number; loss: number; valLoss: number; elapsedMs: number }

export type TrainLoadModelParameters = {
  series: LoadSeries
  timeZone: string
  source: string
  /** Train only on slots before this index (eval holds out the rest); default: all. */
  endIndex?: number | undefined
  epochs?: number | undefined
  /** At most this many training samples (a seeded random subset); default 80,000. */
  maxSamples?: number | undefined
  architecture?: LoadModelArchitecture | undefined
  withTemperature?: boolean | undefined
  seed?: number | undefined
  backend?: string | undefined
  onProgress?: ((progress: TrainProgress) => void) | undefined
}

export type TrainLoadModelResult = { artifacts: ModelArtifacts; metadata: LoadModelMetadata }

export const minimumTrainingDays = 21
const defaultEpochs = 12
const defaultMaxSamples = 80_000
const minimumSteps = 800
const learningRate = 0.003
/** The seed when none is given: the same data then gives the same model. */
export const defaultSeed = 7

/** Trains the load model on one history (everything before `endIndex`), keeping the epoch with the best validation loss. */
export async function trainLoadModel(parameters: TrainLoadModelParameters): Promise<TrainLoadModelResult> {
  const started = Date.now()
  const { series } = parameters
  const maxLead = 2 * Math.round(86_400_000 / series.slotMs)
  const context = createFeatureContext(series, parameters.timeZone, maxLead, parameters.withTemperature)
  const spd = context.slotsPerDay
  const end = Math.min(parameters.endIndex ?? series.loadKw.length, series.loadKw.length)
  const firstIssue = 8 * spd + 1
  const days = end / spd
  if (days < minimumTrainingDays) {
    throw new ForecastInputError(`too short: ${days.toFixed(1)} days of history; training needs at least ${minimumTrainingDays} days (8 for the lags, the rest to learn from)`)
  }
  // The most recent 10% (at least two weeks) validates: it picks the epoch and reports an honest error.
  const validationStart = end - Math.max(14 * spd, Math.round((end - firstIssue) * 0.1))
  const random = createSeededRandom(parameters.seed ?? defaultSeed)
  const issues: number[] = []
  const leads: number[] = []
  const add = (issue: number, lead: number) => {
    const target = issue + lead - 1
    // No sample may straddle the validation boundary.
    if (issue < validationStart ? target < validationStart : target < end) {
      issues.push(issue)
      leads.push(lead)
    }
  }
  for (let issue = firstIssue; issue < end; issue++) add(issue, 1)
  for (const midnight of localMidnights(context, firstIssue, end)) for (let lead = 1; lead <= maxLead; lead++) add(midnight, lead)
  for (let i = firstIssue; i < end; i++) add(firstIssue + Math.floor(random() * (end - firstIssue)), 1 + Math.floor(random() * maxLead))
  const rows = buildFeatures(context, { issue: Int32Array.from(issues), lead: Int32Array.from(leads) })
  const names = featureNames(context.withTemperature)
  const width = names.length

  const trainIndex: number[] = []
  const validationIndex: number[] = []
  for (let r = 0; r < rows.count; r++) {
    if (!rows.usable[r] || !Number.isFinite(rows.target[r] ?? Number.NaN)) continue
    if ((issues[r] ?? 0) < validationStart) trainIndex.push(r)
    else validationIndex.push(r)
  }
  // Training time grows with samples, not with information: beyond a cap, a seeded random subset is as good.
  const maxSamples = parameters.maxSamples ?? defaultMaxSamples
  if (trainIndex.length > maxSamples) {
    for (let i = trainIndex.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1))
      const swap = trainIndex[i] ?? 0
      trainIndex[i] = trainIndex[j] ?? 0
      trainIndex[j] = swap
    }
    trainIndex.length = maxSamples
  }
  if (trainIndex.length < 1000 || validationIndex.length < 100) {
    throw new ForecastInputError(`not enough usable history: ${trainIndex.length} training and ${validationIndex.length} validation samples after gaps are skipped; expected at least 1000 and 100`)
  }
  const numericMean = new Array<number>(width).fill(0)
  const numericStd = new Array<number>(width).fill(0)
  for (const r of trainIndex) for (let f = 0; f < width; f++) numericMean[f] = (numericMean[f] ?? 0) + (rows.numeric[r * width + f] ?? 0)
  for (let f = 0; f < width; f++) numericMean[f] = (numericMean[f] ?? 0) / trainIndex.length
  for (const r of trainIndex) for (let f = 0; f < width; f++) numericStd[f] = (numericStd[f] ?? 0) + ((rows.numeric[r * width + f] ?? 0) - (numericMean[f] ?? 0)) ** 2
  for (let f = 0; f < width; f++) numericStd[f] = Math.sqrt((numericStd[f] ?? 0) / trainIndex.length) || 1
  let targetMean = 0
  for (const r of trainIndex) targetMean += rows.target[r] ?? 0
  targetMean /= trainIndex.length
  let targetStd = 0
  for (const r of trainIndex) targetStd += ((rows.target[r] ?? 0) - targetMean) ** 2
  targetStd = Math.sqrt(targetStd / trainIndex.length) || 1

  const pack = (index: number[]) => {
    const numeric = new Float32Array(index.length * width)
    const slot = new Int32Array(index.length)
    const weekday = new Int32Array(index.length)
    const target = new Float32Array(index.length)
    index.forEach((r, i) => {
      for (let f = 0; f < width; f++) numeric[i * width + f] = ((rows.numeric[r * width + f] ?? 0) - (numericMean[f] ?? 0)) / (numericStd[f] ?? 1)
      slot[i] = rows.slotOfDay[r] ?? 0
      weekday[i] = rows.weekday[r] ?? 0
      target[i] = ((rows.target[r] ?? 0) - targetMean) / targetStd
    })
    return {
      x: [tf.tensor2d(numeric, [index.length, width]), tf.tensor2d(oneHot(slot, spd), [index.length, spd]), tf.tensor2d(oneHot(weekday, 7), [index.length, 7])],
      y: tf.tensor2d(target, [index.length, 1]),
    }
  }
  const train = pack(trainIndex)
  const validation = pack(validationIndex)
  const architecture = parameters.architecture ?? defaultArchitecture
  const model = createLoadModel({ featureCount: width, slotsPerDay: spd, architecture, seed: parameters.seed ?? defaultSeed })
  // Small histories need small batches, and enough epochs for some hundreds of optimizer steps; a year of
  // data gets batch 1024 and the default 12 epochs (~950 steps).
  const batchSize = Math.min(1024, Math.max(64, 2 ** Math.round(Math.log2(trainIndex.length / 64))))
  const stepsPerEpoch = Math.ceil(trainIndex.length / batchSize)
  const epochs = parameters.epochs ?? Math.min(60, Math.max(defaultEpochs, Math.ceil(minimumSteps / stepsPerEpoch)))
  const optimizer = tf.train.adam(learningRate)
  model.compile({ optimizer, loss: 'meanAbsoluteError' })
  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, weights: [] as tf.Tensor[] }
  // model.fit's own shuffle draws from Math.random, so two trainings on one file differed (by up
  // to 5 % in eval): each epoch's order is a permutation from the seeded generator instead.
  const order = Int32Array.from({ length: trainIndex.length }, (_, i) => i)
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1))
        const swap = order[i] ?? 0
        order[i] = order[j] ?? 0
        order[j] = swap
      }
      const indices = tf.tensor1d(order, 'int32')
      const x = train.x.map((t) => tf.gather(t, indices))
      const y = tf.gather(train.y, indices)
      try {
        const history = await model.fit(x, y, { epochs: epoch + 1, initialEpoch: epoch, batchSize, shuffle: false, validationData: [validation.x, validation.y], verbose: 0 })
        const loss = Number(history.history.loss?.[0])
        const valLoss = Number(history.history.val_loss?.[0] ?? Number.NaN)
        if (!Number.isFinite(loss)) throw new ForecastTrainingError(`training diverged at epoch ${epoch + 1}: loss is ${String(history.history.loss?.[0])}`)
        if (valLoss < best.loss) {
          for (const w of best.weights) w.dispose()
          best = { loss: valLoss, epoch: epoch + 1, weights: model.getWeights().map((w) => w.clone()) }
        }
        // Step the learning rate down over the run: big steps first, fine ones at the end.
        ;(optimizer as unknown as { learningRate: number }).learningRate = learningRate * Math.max(0.1, 1 - (epoch + 1) / epochs)
        parameters.onProgress?.({ epoch: epoch + 1, epochs, loss, valLoss, elapsedMs: Date.now() - started })
      } finally {
        for (const t of [indices, ...x, y]) t.dispose()
      }
    }
  } finally {
    for (const t of [...train.x, train.y, ...validation.x, validation.y]) t.dispose()
  }
  if (best.weights.length === 0) throw new ForecastTrainingError('training produced no finite validation loss; the previous model is kept')
  model.setWeights(best.weights)
  for (const w of best.weights) w.dispose()

  const metadata: LoadModelMetadata = {
    format: 'gridmesh-load-model/1',
    architecture,
    features: { numeric: names, embeddings: ['slotOfDay', 'weekday'], withTemperature: context.withTemperature, target: 'load / mean load of the 7 days before the issue slot' },
    scalers: { numericMean, numericStd, targetMean, targetStd },
    slotMs: series.slotMs,
    slotsPerDay: spd,
    maxLeadSlots: maxLead,
    timeZone: parameters.timeZone,
    training: {
      source: parameters.source,
      fromIso: new Date(series.startMs).toISOString(),
      toIso: new Date(series.startMs + validationStart * series.slotMs).toISOString(),
      samples: trainIndex.length,
      epochs,
      bestEpoch: best.epoch,
      durationMs: 0,
      backend: parameters.backend ?? tf.getBackend(),
      seed: parameters.seed ?? defaultSeed,
    },
    validation: {
      fromIso: new Date(series.startMs + validationStart * series.slotMs).toISOString(),
      toIso: new Date(series.startMs + end * series.slotMs).toISOString(),
      dayAheadMapePct: Number.NaN,
      dayAheadMaeKw: Number.NaN,
      seasonalNaiveDayMapePct: Number.NaN,
      seasonalNaiveWeekMapePct: Number.NaN,
      loss: best.loss,
    },
    versions: { tfjs: tf.version.tfjs, node: process.version, gridmesh: '0.1.0' },
    trainedAt: new Date().toISOString(),
  }
  // The validation error stored with the model is the day-ahead one, from local midnight, as operators read it.
  const midnights = localMidnights(context, validationStart, end - spd + 1)
  const actual: number[] = []
  const requests = { issue: new Int32Array(midnights.length * spd), lead: new Int32Array(midnights.length * spd) }
  const naiveDay: number[] = []
  const naiveWeek: number[] = []
  midnights.forEach((m, i) => {
    const day = forecastSeasonalNaive(context, m, spd, 1)
    const week = forecastSeasonalNaive(context, m, spd, 7)
    for (let k = 0; k < spd; k++) {
      requests.issue[i * spd + k] = m
      requests.lead[i * spd + k] = k + 1
      actual.push(series.loadKw[m + k] ?? Number.NaN)
      naiveDay.push(day[k] ?? Number.NaN)
      naiveWeek.push(week[k] ?? Number.NaN)
    }
  })
  const score = scoreForecasts(actual, predictLoad(model, metadata, context, requests))
  metadata.validation.dayAheadMapePct = score.mapePct
  metadata.validation.dayAheadMaeKw = score.maeKw
  metadata.validation.seasonalNaiveDayMapePct = scoreForecasts(actual, naiveDay).mapePct
  metadata.validation.seasonalNaiveWeekMapePct = scoreForecasts(actual, naiveWeek).mapePct
  if (!Number.isFinite(score.mapePct)) throw new ForecastTrainingError('the trained model gives no finite forecast on the validation days; the previous model is kept')
  // The validation days also calibrate P10/P90: the weights never fitted on them (they only picked the epoch).
  const quantiles = calibrateModelQuantiles({ model, metadata, context, from: validationStart, to: end })
  if (quantiles.lowRatio.every(Number.isFinite) && quantiles.highRatio.every(Number.isFinite)) metadata.quantiles = { ...quantiles, fromIso: metadata.validation.fromIso, toIso: metadata.validation.toIso }

  let artifacts: ModelArtifacts | undefined
  await model.save(
    tf.io.withSaveHandler(async (saved) => {
      const weightData = saved.weightData
      artifacts = {
        modelTopology: saved.modelTopology as object,
        weightSpecs: saved.weightSpecs ?? [],
        weightData: Array.isArray(weightData) ? tf.io.concatenateArrayBuffers(weightData) : (weightData as ArrayBuffer),
      }
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }
    }),
  )
  model.dispose()
  optimizer.dispose()
  if (!artifacts) throw new ForecastTrainingError('the model could not be serialised')
  metadata.training.durationMs = Date.now() - started
  return { artifacts, metadata }
}
