import type * as tf from '@tensorflow/tfjs'
import type { FeatureContext } from './buildFeatures.ts'
import { calibrateLoadQuantiles, type LoadQuantileTable } from './calibrateLoadQuantiles.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'
import { predictLoad } from './predictLoad.ts'

export type CalibrateRecentQuantilesParameters = {
  model: tf.LayersModel
  metadata: LoadModelMetadata
  context: FeatureContext
  /** The forecast to calibrate is issued at this slot; only outcomes before it are read. */
  issue: number
  /** Past forecasts re-issued at the same time of day on each of this many days before (default 28). */
  days?: number | undefined
  /** Calibrate leads 1..this (default: the model's horizon). */
  maxLeadSlots?: number | undefined
  /** With fewer usable past issues than this, no table (the caller falls back to the model's own). Default 14. */
  minimumDays?: number | undefined
}

export const recentCalibrationDays = 28

/**
 * Rolling split-conformal P10/P90: the model's forecasts issued at the same time of day on each of the last
 * `days` days, against what happened (all before `issue`), give the ratios per 2-hour lead block. The band follows
 * the season and the site (a house is far less predictable than a state) instead of the training data's.
 */
export function calibrateRecentQuantiles(parameters: CalibrateRecentQuantilesParameters): LoadQuantileTable | undefined {
  const { model, metadata, context, issue } = parameters
  const spd = context.slotsPerDay
  const days = parameters.days ?? recentCalibrationDays
  const maxLead = Math.min(parameters.maxLeadSlots ?? metadata.maxLeadSlots, metadata.maxLeadSlots)
  const issues: number[] = []
  const leads: number[] = []
  let usableDays = 0
  for (let d = 1; d <= days; d++) {
    const past = issue - d * spd
    // The model's lags need a week and a slot before the issue.
    if (past < 7 * spd + 1) break
    usableDays++
    for (let lead = 1; lead <= maxLead && past + lead - 1 < issue; lead++) {
      issues.push(past)
      leads.push(lead)
    }
  }
  if (usableDays < (parameters.minimumDays ?? 14)) return undefined
  const lead = Int32Array.from(leads)
  const predictedKw = predictLoad(model, metadata, context, { issue: Int32Array.from(issues), lead })
  const y = context.series.loadKw
  const actualKw = Float64Array.from(issues, (past, i) => y[past + (leads[i] ?? 1) - 1] ?? Number.NaN)
  const table = calibrateLoadQuantiles({ actualKw, predictedKw, lead, maxLeadSlots: maxLead, leadBlockSlots: Math.max(1, Math.round(spd / 12)) })
  return table.lowRatio.every(Number.isFinite) && table.highRatio.every(Number.isFinite) ? table : undefined
}
