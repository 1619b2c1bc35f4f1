import { parentPort, workerData } from 'node:worker_threads'
import { selectBackend, type BackendPreference } from './selectBackend.ts'
import { trainLoadModel, type TrainLoadModelParameters } from './trainLoadModel.ts'

/** The worker side of trainInWorker: picks a backend, trains, posts progress and the serialised model back. */
export async function trainWorkerMain(): Promise<void> {
  const port = parentPort
  if (!port) throw new Error('trainWorkerMain runs only inside a worker thread')
  const parameters = workerData as Omit<TrainLoadModelParameters, 'onProgress'> & { backend?: BackendPreference }
  try {
    const backend = await selectBackend(parameters.backend ?? 'auto', (line) => port.postMessage({ type: 'log', line }))
    const result = await trainLoadModel({ ...parameters, backend, onProgress: (progress) => port.postMessage({ type: 'progress', progress }) })
    port.postMessage({ type: 'done', result }, [result.artifacts.weightData])
  } catch (error) {
    const e = error instanceof Error ? error : new Error(String(error))
    port.postMessage({ type: 'error', name: e.name, message: e.message })
  }
}
