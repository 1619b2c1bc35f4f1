import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { ForecastTrainingError } from './errors.ts'
import type { TrainLoadModelResult } from './trainLoadModel.ts'

/** Writes model.json, weights.bin and metadata.json to a temporary directory beside `dir`, then swaps it in; a failure leaves `dir` as it was. */
export function saveLoadModel(dir: string, trained: TrainLoadModelResult): void {
  const target = resolve(dir)
  const parent = dirname(target)
  const stamp = `${process.pid}-${Date.now()}`
  const temporary = join(parent, `.${basename(target)}.tmp-${stamp}`)
  const previous = join(parent, `.${basename(target)}.old-${stamp}`)
  try {
    mkdirSync(temporary, { recursive: true })
    const modelJson = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${trained.metadata.versions.tfjs}`,
      convertedBy: null,
      modelTopology: trained.artifacts.modelTopology,
      weightsManifest: [{ paths: ['weights.bin'], weights: trained.artifacts.weightSpecs }],
    }
    writeFileSync(join(temporary, 'weights.bin'), new Uint8Array(trained.artifacts.weightData))
    writeFileSync(join(temporary, 'metadata.json'), `${JSON.stringify(trained.metadata, null, 2)}\n`)
    // model.json last: a directory with model.json is complete.
    writeFileSync(join(temporary, 'model.json'), JSON.stringify(modelJson))
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true })
    throw new ForecastTrainingError(`cannot write the model to ${temporary}; the previous model in ${target} is kept`, { cause: error })
  }
  const hadPrevious = existsSync(target)
  try {
    if (hadPrevious) renameSync(target, previous)
    renameSync(temporary, target)
  } catch (error) {
    if (hadPrevious && !existsSync(target) && existsSync(previous)) renameSync(previous, target)
    rmSync(temporary, { recursive: true, force: true })
    throw new ForecastTrainingError(`cannot move the new model into ${target}; the previous model is kept`, { cause: error })
  }
  if (hadPrevious) rmSync(previous, { recursive: true, force: true })
}
