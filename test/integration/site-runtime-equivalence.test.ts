// Proof for issue 17: the backtest's controller run is serve's runtime. `gridmesh serve`'s
// startSite (devices from a site file, SQLite, the shipped load model, the API) and the
// backtest's controller run, on the same simulated site, seed, start and stepped
// clock, make the same plans and command the same setpoints, slot by slot.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { afterAll, describe, expect, it } from 'vitest'
import { runBacktest } from '../../core/control/backtest/runBacktest.ts'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { simulatorSiteFile, type SimulatorSite } from '../../core/simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../../core/simulator/spawnSimulator.ts'
import { steppedSimulatorClock } from '../../core/simulator/steppedSimulatorClock.ts'
import { writeSteppedSiteFile } from '../../core/simulator/writeSteppedSiteFile.ts'

const demo = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))
const fromMs = Date.parse('2013-01-15T00:00:00Z')
const days = 0.25
const cycleS = 30
const seed = 1
const slotMs = 900_000
const work = mkdtempSync(join(tmpdir(), 'gridmesh-equivalence-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

type SlotView = { startMs: number; planCreatedAtMs: number | null; plannedBatteryW: number | null; setpointW: number | null }

/** `gridmesh serve` itself (startSite: devices, SQLite, load model, API) on the simulator, stepped like the backtest steps it. */
async function runServe(): Promise<{ slots: SlotView[]; plans: number }> {
  const simSite = parse(readFileSync(demo, 'utf8')) as SimulatorSite & Record<string, unknown>
  const file = join(work, 'sim.yaml')
  writeSteppedSiteFile(file, simSite, fromMs)
  const sim = await spawnSimulator(file, seed)
  const clock = steppedSimulatorClock(sim, fromMs)
  let site: RunningSite | null = null
  try {
    site = await startSite({
      // PV on the simulator's weather forecast, as the backtest's controller plans by default.
      site: simulatorSiteFile({ sim: simSite, ready: sim.ready, apiUrl: sim.apiUrl }),
      dataDir: join(work, 'serve-data'),
      port: 0,
      now: clock.now,
      clock,
      // The backtest's: three 30 s cycles.
      staleAfterMs: 3 * cycleS * 1000,
    })
    const controller = site.controller
    let setpoints = { sum: 0, n: 0 }
    controller.subscribe((e) => {
      if (e.type !== 'cycle') return
      for (const d of e.report.decisions) {
        if (d.setpointW === null) continue
        setpoints.sum += d.setpointW
        setpoints.n++
      }
    })
    const slots: SlotView[] = []
    for (let t = fromMs; t < fromMs + days * 86_400_000; t += slotMs) {
      await controller.runtime.runTo(t + slotMs, cycleS)
      const plan = controller.plan()
      slots.push({ startMs: t, planCreatedAtMs: plan?.createdAtMs ?? null, plannedBatteryW: plan?.slots.find((s) => s.startMs === t)?.batteryPowerW ?? null, setpointW: setpoints.n ? setpoints.sum / setpoints.n : null })
      setpoints = { sum: 0, n: 0 }
    }
    return { slots, plans: controller.runtime.planCount() }
  } finally {
    await site?.stop()
    await sim.stop()
  }
}

describe('one site runtime', () => {
  it("serve's runtime and the backtest's controller run make the same plans and setpoints slot by slot", { timeout: 600_000 }, async () => {
    const backtest = await runBacktest({ siteFile: demo, fromMs, days, cycleS, seed, warmupDays: 0 })
    const controller = backtest.runs.find((r) => r.name === 'controller')!
    const serve = await runServe()
    const view = (s: SlotView) => ({ startMs: s.startMs, planCreatedAtMs: s.planCreatedAtMs, plannedBatteryW: s.plannedBatteryW, setpointW: s.setpointW })
    expect(serve.slots).toHaveLength(days * 96)
    expect(serve.slots.map(view)).toEqual(controller.slots.map(view))
    expect(serve.plans).toBe(controller.plans)
    // Not a trivial match: the plans move the battery.
    expect(serve.slots.filter((s) => s.setpointW !== null && Math.abs(s.setpointW) > 100).length).toBeGreaterThan(4)
    console.log(`equivalence: ${serve.plans} plans over ${serve.slots.length} slots; seed ${seed}`)
  })
})
