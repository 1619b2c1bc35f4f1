import * as tf from '@tensorflow/tfjs'

export type LoadModelArchitecture = {
  kind: 'dense-embeddings'
  hidden: number[]
  slotEmbedding: number
  weekdayEmbedding: number
}

export const defaultArchitecture: LoadModelArchitecture = { kind: 'dense-embeddings', hidden: [64, 32], slotEmbedding: 8, weekdayEmbedding: 3 }

/** A dense net over lag/calendar features with embeddings for the local slot of day and weekday, plus a linear skip path. */
export function createLoadModel(parameters: { featureCount: number; slotsPerDay: number; architecture?: LoadModelArchitecture; seed?: number }): tf.LayersModel {
  const architecture = parameters.architecture ?? defaultArchitecture
  const seed = parameters.seed ?? 1
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: seed + offset })
  const numeric = tf.input({ shape: [parameters.featureCount], name: 'numeric' })
  // Embeddings as a bias-free dense layer over one-hot inputs: the same maths as tf.layers.embedding, but its
  // gradient is a matmul, which the wasm backend has (it lacks UnsortedSegmentSum, the gather gradient).
  const slot = tf.input({ shape: [parameters.slotsPerDay], name: 'slotOfDay' })
  const weekday = tf.input({ shape: [7], name: 'weekday' })
  const slotVector = tf.layers.dense({ units: architecture.slotEmbedding, useBias: false, kernelInitializer: init(100), name: 'slotEmbedding' }).apply(slot) as tf.SymbolicTensor
  const weekdayVector = tf.layers.dense({ units: architecture.weekdayEmbedding, useBias: false, kernelInitializer: init(200), name: 'weekdayEmbedding' }).apply(weekday) as tf.SymbolicTensor
  let hidden = tf.layers.concatenate().apply([numeric, slotVector, weekdayVector]) as tf.SymbolicTensor
  architecture.hidden.forEach((units, i) => {
    hidden = tf.layers.dense({ units, activation: 'relu', kernelInitializer: init(i) }).apply(hidden) as tf.SymbolicTensor
  })
  const deep = tf.layers.dense({ units: 1, kernelInitializer: init(50) }).apply(hidden) as tf.SymbolicTensor
  // The linear path carries the obvious part (tomorrow looks like the recent same slots); the net learns corrections.
  const linear = tf.layers.dense({ units: 1, kernelInitializer: init(60) }).apply(numeric) as tf.SymbolicTensor
  const output = tf.layers.add().apply([deep, linear]) as tf.SymbolicTensor
  return tf.model({ inputs: [numeric, slot, weekday], outputs: output })
}
