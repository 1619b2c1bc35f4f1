import { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { ForecastTrainingError } from './errors.ts'
import type { BackendPreference } from './selectBackend.ts'
import type { TrainLoadModelParameters, TrainLoadModelResult, TrainProgress } from './trainLoadModel.ts'

export type TrainInWorkerParameters = Omit<TrainLoadModelParameters, 'onProgress' | 'backend'> & {
  backend?: BackendPreference | undefined
  onProgress?: ((progress: TrainProgress) => void) | undefined
  onLog?: ((line: string) => void) | undefined
}

type WorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'log'; line: string }
  | { type: 'done'; result: TrainLoadModelResult }
  | { type: 'error'; name: string; message: string }

function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api')
  // Test runners without import.meta.resolve: the require condition gives the CommonJS twin beside the ESM file.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href
}

/** Trains in a worker thread so the caller's event loop (the control loop) never waits on TensorFlow. */
export function trainInWorker(parameters: TrainInWorkerParameters): Promise<TrainLoadModelResult> {
  const { onProgress, onLog, ...rest } = parameters
  const entry = new URL('./trainWorkerMain.ts', import.meta.url).href
  // A compiled entry (.js, the packaged app: scripts/buildApp.ts points it there) is imported as it is: a packaged app has no tsx.
  // A .ts entry registers the TypeScript loader itself: hooks from the parent's loader do not reach an eval worker.
  const source = entry.endsWith('.js') ? `import(${JSON.stringify(entry)}).then((m) => m.trainWorkerMain())` : `import(${JSON.stringify(resolveTsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) }).then((m) => m.trainWorkerMain())`
  return new Promise((resolvePromise, reject) => {
    const worker = new Worker(source, { eval: true, workerData: rest })
    let settled = false
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'progress') onProgress?.(message.progress)
      else if (message.type === 'log') (onLog ?? ((line: string) => process.stderr.write(`${line}\n`)))(message.line)
      else if (message.type === 'done') {
        settled = true
        resolvePromise(message.result)
        void worker.terminate()
      } else if (message.type === 'error') {
        settled = true
        const error = new ForecastTrainingError(`training failed: ${message.message}`, { details: message.name })
        reject(error)
      }
    })
    worker.on('error', (error) => {
      if (settled) return
      settled = true
      reject(new ForecastTrainingError('the training worker crashed', { cause: error }))
    })
    worker.on('exit', (code) => {
      if (settled) return
      settled = true
      reject(new ForecastTrainingError(`the training worker exited with code ${code} before finishing`))
    })
  })
}
