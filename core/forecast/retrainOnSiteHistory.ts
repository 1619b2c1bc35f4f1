import type * as tf from '@tensorflow/tfjs'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { readLoadModel } from './readLoadModel.ts'
import { saveLoadModel } from './saveLoadModel.ts'
import { trainInWorker } from './trainInWorker.ts'
import type { TrainLoadModelParameters, TrainLoadModelResult } from './trainLoadModel.ts'

export type LoadedLoadModel = { model: tf.LayersModel; metadata: LoadModelMetadata; dir: string }

export type RetrainOutcome = {
  accepted: boolean
  reason: string
  /** The new model, loaded from `dir`, when accepted. */
  model: LoadedLoadModel | null
  validation: LoadModelMetadata['validation'] | null
  days: number
  durationMs: number
}

export type RetrainOnSiteHistoryParameters = {
  /** Slot means of the site's load by slot start (any regular slot length up to the model's). */
  history: ReadonlyMap<number, { loadW: number }>
  timeZone: string
  isHoliday?: (utcMs: number) => boolean
  /** Only history before this instant is used. */
  nowMs: number
  /** Where the model is saved; the previous one there is replaced only by an accepted model. */
  dir: string
  /** A label for the metadata, e.g. `site:<name>`. */
  source: string
  /** Slot length of the new model (default 30 min, like the shipped one). */
  slotMs?: number
  /** The trainer (default: a worker thread, so the control loop never waits on TensorFlow). */
  train?: (parameters: Omit<TrainLoadModelParameters, 'onProgress' | 'backend'>) => Promise<TrainLoadModelResult>
}

/**
 * Trains a load model on the site's own history and keeps it only if, on its own
 * validation weeks, its day-ahead error beats both seasonal-naive baselines; a failed or
 * worse training leaves the previous model in place and says why.
 */
export async function retrainOnSiteHistory(parameters: RetrainOnSiteHistoryParameters): Promise<RetrainOutcome> {
  const started = performance.now()
  const slotMs = parameters.slotMs ?? 1_800_000
  const times = [...parameters.history.keys()].filter((t) => t < parameters.nowMs).sort((a, b) => a - b)
  const done = (accepted: boolean, reason: string, model: LoadedLoadModel | null, validation: RetrainOutcome['validation'], days: number): RetrainOutcome => ({ accepted, reason, model, validation, days, durationMs: performance.now() - started })
  if (times.length === 0) return done(false, 'no history yet', null, null, 0)
  const startMs = Math.floor(times[0]! / slotMs) * slotMs
  const endMs = Math.floor(parameters.nowMs / slotMs) * slotMs
  const count = Math.max(0, Math.round((endMs - startMs) / slotMs))
  const sum = new Float64Array(count)
  const n = new Uint16Array(count)
  for (const t of times) {
    const i = Math.floor((t - startMs) / slotMs)
    const v = parameters.history.get(t)!.loadW
    if (i < count && Number.isFinite(v)) {
      sum[i]! += v / 1000
      n[i]!++
    }
  }
  const loadKw = new Float64Array(count)
  const holiday = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    loadKw[i] = n[i] ? sum[i]! / n[i]! : Number.NaN
    holiday[i] = parameters.isHoliday?.(startMs + i * slotMs) ? 1 : 0
  }
  const days = (count * slotMs) / 86_400_000
  const train = parameters.train ?? ((p) => trainInWorker(p))
  let trained: TrainLoadModelResult
  try {
    trained = await train({ series: { startMs, slotMs, loadKw, temperatureC: undefined, holiday }, timeZone: parameters.timeZone, source: parameters.source })
  } catch (error) {
    const message = (error as { shortMessage?: string }).shortMessage ?? (error as Error).message
    return done(false, `${message.startsWith('training failed') ? '' : 'training failed: '}${message}; the previous model is kept`, null, null, days)
  }
  const v = trained.metadata.validation
  const naive = Math.min(v.seasonalNaiveDayMapePct, v.seasonalNaiveWeekMapePct)
  if (!(v.dayAheadMapePct < naive)) {
    return done(false, `day-ahead MAPE ${v.dayAheadMapePct.toFixed(2)} % on its validation weeks is not below seasonal naive's ${naive.toFixed(2)} %; the previous model is kept`, null, v, days)
  }
  try {
    saveLoadModel(parameters.dir, trained)
    const model = await readLoadModel(parameters.dir)
    return done(true, `day-ahead MAPE ${v.dayAheadMapePct.toFixed(2)} % vs seasonal naive ${naive.toFixed(2)} % on ${v.fromIso.slice(0, 10)}..${v.toIso.slice(0, 10)}`, model, v, days)
  } catch (error) {
    return done(false, (error as { shortMessage?: string }).shortMessage ?? (error as Error).message, null, v, days)
  }
}
