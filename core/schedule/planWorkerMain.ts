import { parentPort } from 'node:worker_threads'
import type { PlanInputParameters } from './planInputSchema.ts'
import { planSchedule } from './planSchedule.ts'

export type PlanRequest = { id: number; input: PlanInputParameters; nowMs: number }
export type PlanAnswer = { id: number; plan: Awaited<ReturnType<typeof planSchedule>> } | { id: number; error: { name: string; message: string } }

/** The worker side of createPlanWorker: one HiGHS runtime kept warm, one solve at a time in arrival order. */
export function planWorkerMain(): void {
  const port = parentPort
  if (!port) throw new Error('planWorkerMain runs only inside a worker thread')
  let queue = Promise.resolve()
  port.on('message', (request: PlanRequest) => {
    queue = queue.then(async () => {
      try {
        port.postMessage({ id: request.id, plan: await planSchedule(request.input, { nowMs: request.nowMs }) } satisfies PlanAnswer)
      } catch (error) {
        const e = error instanceof Error ? error : new Error(String(error))
        port.postMessage({ id: request.id, error: { name: e.name, message: e.message } } satisfies PlanAnswer)
      }
    })
  })
  port.postMessage({ ready: true })
}
