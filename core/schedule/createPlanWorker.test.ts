import { afterEach, describe, expect, it } from 'vitest'
import { createPlanWorker, type PlanWorker } from './createPlanWorker.ts'
import type { PlanInputParameters } from './planInputSchema.ts'
import { planSchedule } from './planSchedule.ts'

const input: PlanInputParameters = {
  startMs: Date.UTC(2026, 0, 5),
  slotDurationMs: 900_000,
  objective: 'cost',
  slots: Array.from({ length: 96 }, (_, i) => ({ loadPowerW: 800 + 400 * Math.sin(i / 8), pvPowerW: Math.max(0, 3000 * Math.sin(((i - 24) / 48) * Math.PI)), importPriceEurPerKWh: i % 96 < 28 ? 0.15 : 0.3, exportPriceEurPerKWh: 0.05 })),
  battery: { capacityWh: 10_000, socPct: 40, minSocPct: 10, maxSocPct: 95, maxChargePowerW: 5000, maxDischargePowerW: 5000 },
  grid: {},
}

let worker: PlanWorker | null = null
afterEach(async () => {
  await worker?.close()
  worker = null
})

describe('createPlanWorker', () => {
  it('gives the plan planSchedule gives in this thread, and the event loop keeps turning meanwhile', async () => {
    worker = createPlanWorker()
    const nowMs = input.startMs + 1000
    let turns = 0
    const timer = setInterval(() => turns++, 1)
    const planned = await worker.plan(input, { nowMs })
    clearInterval(timer)
    const here = await planSchedule(input, { nowMs })
    // Everything but the wall time of the solve.
    expect({ ...planned, solveStats: { ...planned.solveStats, solveTimeMs: 0 } }).toEqual({ ...here, solveStats: { ...here.solveStats, solveTimeMs: 0 } })
    // The first solve also starts the worker and loads HiGHS there: the loop turned all along.
    expect(turns).toBeGreaterThan(0)
  }, 60_000)

  it('names what was wrong with an input, and a closed worker refuses', async () => {
    worker = createPlanWorker()
    await expect(worker.plan({ ...input, slots: [] }, { nowMs: 0 })).rejects.toThrow(/planning failed: .*slots/)
    await worker.close()
    await expect(worker.plan(input, { nowMs: 0 })).rejects.toThrow(/closed/)
  }, 60_000)
})
