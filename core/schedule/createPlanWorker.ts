import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { PlanInputParameters } from './planInputSchema.ts'
import type { Plan } from './planSchedule.ts'
import { PlanWorkerError } from './PlanWorkerError.ts'
import type { PlanAnswer } from './planWorkerMain.ts'

export type PlanWorker = {
  /** planSchedule(input, { nowMs }) in the worker thread; the caller's event loop runs on meanwhile. */
  plan(input: PlanInputParameters, options: { nowMs: number }): Promise<Plan>
  /** Stops the worker; plans still asked for are rejected. */
  close(): Promise<void>
}

function resolveTsxApi(): string {
  if (typeof import.meta.resolve === 'function') return import.meta.resolve('tsx/esm/api')
  // Test runners without import.meta.resolve: the require condition gives the CommonJS twin beside the ESM file.
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href
}

/**
 * The MILP in a worker thread. HiGHS (wasm) runs synchronously for 50-500 ms a solve; in
 * the control loop's thread that would hold every cycle behind it. Here the loop keeps its
 * cycle and reads the plan in force, as OpenEMS's optimizer runs beside its cycle. One
 * worker, started on the first plan and kept warm; solves run one at a time.
 */
export function createPlanWorker(): PlanWorker {
  let worker: Worker | null = null
  let nextId = 1
  let closed = false
  const pending = new Map<number, { resolve: (plan: Plan) => void; reject: (error: Error) => void }>()
  const failAll = (error: Error) => {
    for (const p of pending.values()) p.reject(error)
    pending.clear()
  }
  const start = (): Worker => {
    const entry = new URL('./planWorkerMain.ts', import.meta.url).href
    // A compiled entry (.js, the packaged app: scripts/buildApp.ts points it there) is imported as it is: a packaged app has no tsx.
    // A .ts entry registers the TypeScript loader itself: hooks from the parent's loader do not reach an eval worker.
    const source = entry.endsWith('.js') ? `import(${JSON.stringify(entry)}).then((m) => m.planWorkerMain())` : `import(${JSON.stringify(resolveTsxApi())}).then(({ register }) => { register(); return import(${JSON.stringify(entry)}) }).then((m) => m.planWorkerMain())`
    const w = new Worker(source, { eval: true })
    // A worker waiting for work must not keep a finished process alive.
    w.unref()
    w.on('message', (answer: PlanAnswer | { ready: true }) => {
      if ('ready' in answer) return
      const p = pending.get(answer.id)
      if (!p) return
      pending.delete(answer.id)
      if ('plan' in answer) p.resolve(answer.plan)
      else p.reject(new PlanWorkerError(`planning failed: ${answer.error.message}`, { details: answer.error.name }))
    })
    w.on('error', (error) => {
      worker = null
      failAll(new PlanWorkerError('the plan worker crashed', { cause: error }))
    })
    w.on('exit', (code) => {
      worker = null
      failAll(new PlanWorkerError(`the plan worker exited with code ${code}`))
    })
    return w
  }
  return {
    plan(input, options) {
      if (closed) return Promise.reject(new PlanWorkerError('the plan worker is closed'))
      worker ??= start()
      const id = nextId++
      // Pending plans keep the process alive; an idle worker does not.
      if (pending.size === 0) worker.ref()
      const w = worker
      return new Promise<Plan>((resolve, reject) => {
        pending.set(id, { resolve, reject })
        w.postMessage({ id, input, nowMs: options.nowMs })
      }).finally(() => {
        if (pending.size === 0) worker?.unref()
      })
    },
    async close() {
      closed = true
      const w = worker
      worker = null
      failAll(new PlanWorkerError('the plan worker is closed'))
      await w?.terminate()
    },
  }
}
