import type * as tf from '@tensorflow/tfjs'
import type { FeatureContext } from './buildFeatures.ts'
import { calibrateLoadQuantiles, type LoadQuantileTable } from './calibrateLoadQuantiles.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'

export type CalibrateModelQuantilesParameters = {
  model: tf.LayersModel
  metadata: LoadModelMetadata
  context: FeatureContext
  /** Calibration issues lie in [from, to); only targets before `to` are scored (the model must not have fitted on them). */
  from: number
  to: number
  /** One forecast is issued every this many slots (default: every hour), each over all the model's leads. */
  issueEverySlots?: number | undefined
}

/** The model's P10/P90 ratios per 2-hour lead block, from its forecasts over a window it did not train on. */
export function calibrateModelQuantiles(parameters: CalibrateModelQuantilesParameters): LoadQuantileTable {
  const { model, metadata, context, from, to } = parameters
  const spd = context.slotsPerDay
  const maxLead = metadata.maxLeadSlots
  const every = parameters.issueEverySlots ?? Math.max(1, Math.round(spd / 24))
  const issues: number[] = []
  const leads: number[] = []
  for (let issue = Math.max(1, from); issue < to; issue += every) {
    for (let lead = 1; lead <= maxLead && issue + lead - 1 < to; lead++) {
      issues.push(issue)
      leads.push(lead)
    }
  }
  const lead = Int32Array.from(leads)
  const predictedKw = predictLoad(model, metadata, context, { issue: Int32Array.from(issues), lead })
  const y = context.series.loadKw
  const actualKw = Float64Array.from(issues, (issue, i) => y[issue + (leads[i] ?? 1) - 1] ?? Number.NaN)
  return calibrateLoadQuantiles({ actualKw, predictedKw, lead, maxLeadSlots: maxLead, leadBlockSlots: Math.max(1, Math.round(spd / 12)) })
}
