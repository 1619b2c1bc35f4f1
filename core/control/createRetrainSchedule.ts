import type { LoadedLoadModel, RetrainOutcome } from '../forecast/retrainOnSiteHistory.ts'
import { retrainOnSiteHistory } from '../forecast/retrainOnSiteHistory.ts'

const dayMs = 86_400_000

export type RetrainScheduleOptions = {
  /** Retrained models go to `<modelDir>/site-model`. */
  modelDir: string
  /** Retrain once this many days of the site's own history exist, and again every `everyDays` (default 28 and 7). */
  minDays?: number | undefined
  everyDays?: number | undefined
  timeZone: string
  isHoliday: (utcMs: number) => boolean
  /** The training source recorded in the model: `site:<name>`. */
  source: string
  model: () => LoadedLoadModel | null
  /** A retrained model that beat the one in use. */
  accept: (model: LoadedLoadModel) => void
  /** The outcome of every retraining, accepted or not. */
  outcome: (outcome: RetrainOutcome) => void
  localDate: (utcMs: number) => string
  log: (message: string) => void
}

/**
 * When the site's load model is retrained on its own history: looked at once a local day,
 * retrained (in a worker, never in the cycle) once `minDays` exist and the model in use
 * was not trained on this site within `everyDays`.
 */
export function createRetrainSchedule(options: RetrainScheduleOptions) {
  let training: Promise<void> | null = null
  let lastCheckDay: string | null = null
  return {
    check(nowMs: number, history: ReadonlyMap<number, { loadW: number }>): void {
      if (training) return
      const day = options.localDate(nowMs)
      if (day === lastCheckDay) return
      lastCheckDay = day
      const model = options.model()
      const trainedAt = model?.metadata.training.source.startsWith('site:') ? Date.parse(model.metadata.trainedAt) : Number.NEGATIVE_INFINITY
      if (nowMs - trainedAt < (options.everyDays ?? 7) * dayMs) return
      const slots = [...history.keys()].filter((t) => t < nowMs)
      if (slots.length < (options.minDays ?? 28) * 96) return
      options.log(`forecast: retraining the load model on ${(slots.length / 96).toFixed(1)} days of this site's history (worker thread)`)
      training = retrainOnSiteHistory({ history, timeZone: options.timeZone, isHoliday: options.isHoliday, nowMs, dir: `${options.modelDir}/site-model`, source: options.source })
        .then((outcome) => {
          if (outcome.accepted && outcome.model) options.accept(outcome.model)
          options.log(`forecast: ${outcome.accepted ? 'using the retrained model' : 'kept the previous model'}: ${outcome.reason}`)
          options.outcome(outcome)
        })
        .finally(() => {
          training = null
        })
    },
    /** Resolves when a retraining that started has finished. */
    training: () => training ?? Promise.resolve(),
  }
}
