import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { ForecastModelError } from './errors.ts'
import { loadModelMetadataSchema, type LoadModelMetadata } from './loadModelMetadata.ts'
import { modelFromArtifacts } from './modelFromArtifacts.ts'

/** Loads a saved load model directory (model.json, weights.bin, metadata.json) and checks that the parts agree. */
export async function readLoadModel(dir: string): Promise<{ model: tf.LayersModel; metadata: LoadModelMetadata; dir: string }> {
  const root = resolve(dir)
  const file = (name: string) => join(root, name)
  for (const name of ['model.json', 'weights.bin', 'metadata.json']) {
    if (!existsSync(file(name))) throw new ForecastModelError(`${file(name)}: missing; expected a model directory written by 'gridmesh forecast train' (model.json, weights.bin, metadata.json)`)
  }
  let modelJson: { modelTopology?: object; weightsManifest?: { weights: tf.io.WeightsManifestEntry[] }[] }
  let metadataJson: unknown
  try {
    modelJson = JSON.parse(readFileSync(file('model.json'), 'utf8'))
    metadataJson = JSON.parse(readFileSync(file('metadata.json'), 'utf8'))
  } catch (error) {
    throw new ForecastModelError(`${root}: model.json or metadata.json is not valid JSON`, { cause: error })
  }
  const parsed = loadModelMetadataSchema.safeParse(metadataJson)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new ForecastModelError(`${file('metadata.json')}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}; expected metadata written by 'gridmesh forecast train'`)
  }
  const weightSpecs = modelJson.weightsManifest?.flatMap((group) => group.weights) ?? []
  if (!modelJson.modelTopology || weightSpecs.length === 0) throw new ForecastModelError(`${file('model.json')}: no modelTopology or weightsManifest; expected a tfjs layers model`)
  const weights = readFileSync(file('weights.bin'))
  const expectedBytes = weightSpecs.reduce((total, spec) => total + spec.shape.reduce((a, b) => a * b, 1) * 4, 0)
  if (weights.byteLength !== expectedBytes) throw new ForecastModelError(`${file('weights.bin')}: ${weights.byteLength} bytes; model.json expects ${expectedBytes}`)
  const weightData = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer
  const model = await modelFromArtifacts({ modelTopology: modelJson.modelTopology, weightSpecs, weightData })
  return { model, metadata: parsed.data, dir: root }
}
