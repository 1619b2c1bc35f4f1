import * as tf from '@tensorflow/tfjs'
import type { ModelArtifacts } from './trainLoadModel.ts'

/** Artifacts as training returns them (or as read from disk) turned into a runnable model. */
export async function modelFromArtifacts(artifacts: ModelArtifacts): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: artifacts.modelTopology, weightSpecs: artifacts.weightSpecs, weightData: artifacts.weightData }))
}
