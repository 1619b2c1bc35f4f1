import * as tf from '@tensorflow/tfjs'
import { buildFeatures, type FeatureContext, type FeatureRequests } from './buildFeatures.ts'
import { oneHot } from './oneHot.ts'
import type { LoadModelMetadata } from './loadModelMetadata.ts'

/** Runs the model on forecast requests and returns loads in kW (NaN where the history lacks an input). */
export function predictLoad(model: tf.LayersModel, metadata: LoadModelMetadata, context: FeatureContext, requests: FeatureRequests): Float64Array {
  const rows = buildFeatures(context, requests)
  const width = metadata.features.numeric.length
  const { numericMean, numericStd, targetMean, targetStd } = metadata.scalers
  const numeric = rows.numeric
  for (let r = 0; r < rows.count; r++) {
    for (let f = 0; f < width; f++) {
      const o = r * width + f
      const v = ((numeric[o] ?? 0) - (numericMean[f] ?? 0)) / (numericStd[f] ?? 1)
      numeric[o] = Number.isFinite(v) ? v : 0
    }
  }
  const out = new Float64Array(rows.count)
  if (rows.count === 0) return out
  const predicted = tf.tidy(() => {
    const inputs = [tf.tensor2d(numeric, [rows.count, width]), tf.tensor2d(oneHot(rows.slotOfDay, metadata.slotsPerDay), [rows.count, metadata.slotsPerDay]), tf.tensor2d(oneHot(rows.weekday, 7), [rows.count, 7])]
    return model.predict(inputs, { batchSize: 4096 }) as tf.Tensor
  })
  const values = predicted.dataSync()
  predicted.dispose()
  for (let r = 0; r < rows.count; r++) {
    const ratio = (values[r] ?? 0) * targetStd + targetMean
    out[r] = rows.usable[r] ? Math.max(0, ratio * (rows.levelKw[r] ?? Number.NaN)) : Number.NaN
  }
  return out
}
