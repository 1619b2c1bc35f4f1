import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createControlLoop, type ControlStore } from '../../core/control/createControlLoop.ts'
import { createStore } from '../../core/store/createStore.ts'
import { createConnectionPool } from '../../core/devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../core/devices/sunspec/createSunSpecDriver.ts'
import type { Plan } from '../../core/schedule/planSchedule.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The real loop against the simulator under a virtual clock: the test advances the
// simulator's time and ticks the loop, so minutes pass in milliseconds.
let sim: Simulator
const pool = createConnectionPool({ timeoutMs: 300, retries: 0, defectiveAfterFailures: 1000 })
const calls: { kind: string; args: unknown }[] = []
const store: ControlStore = {
  appendTelemetry: (samples) => calls.push({ kind: 'telemetry', args: samples }),
  recordWrite: (w) => calls.push({ kind: 'write', args: w }),
  raiseAlarm: (a) => calls.push({ kind: 'raise', args: a }),
  clearAlarm: (key) => calls.push({ kind: 'clear', args: key }),
  downsample: (nowMs) => calls.push({ kind: 'downsample', args: nowMs }),
}

beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: () => {} })
})
afterAll(async () => {
  await pool.close()
  await sim.close()
})

async function loopFor(plan: () => Plan | null, loopStore: ControlStore = store) {
  const port = (name: string) => sim.ready.find((r) => r.device === name)!.port!
  const drivers = await Promise.all(['pv1', 'bat1', 'meter1'].map((name) => createSunSpecDriver({ name, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: port(name) }), unitId: 1 })))
  return createControlLoop({
    devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 15_000, refreshMs: 20_000 })),
    batteryLimits: { bat1: { maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95, rampWPerS: Infinity } },
    site: { maxImportW: null, maxExportW: null },
    now: () => sim.physics.timeMs,
    plan,
    store: loopStore,
  })
}

const planOf = (batteryPowerW: number): Plan => ({
  version: 1, createdAtMs: sim.physics.timeMs, startMs: sim.physics.timeMs - 60_000, slotDurationMs: 3_600_000, objective: 'cost', objectiveValue: 0,
  expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: 50, unmetGoals: [], warnings: [],
  solveStats: { solveTimeMs: 0, rounds: 0, integerVariables: 0, columns: 0, rows: 0 },
  slots: [{ startMs: sim.physics.timeMs - 60_000, batteryPowerW, gridPowerW: 1000, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: 50, flexibleLoads: [], marketBuyW: 0, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 }],
})

describe('control loop against the simulator', () => {
  it('follows the plan, and keeps the setpoint alive past the device command timeout by refreshing it', async () => {
    const plan = planOf(-2500)
    const loop = await loopFor(() => plan)
    for (let i = 0; i < 30; i++) {
      await loop.tick()
      sim.advance(10_000) // 5 minutes at 10 s cycles: the device's 60 s timeout passes 5 times
    }
    expect(sim.physics.batteries[0]!.powerW).toBe(-2500)
    expect(sim.recentEvents().some((e) => e.includes('bat1: setpoint not refreshed'))).toBe(false)
    expect(loop.latest()!.decisions[0]).toMatchObject({ mode: 'plan', setpointW: -2500 })
    const writes = calls.filter((c) => c.kind === 'write')
    expect(writes.length).toBeGreaterThanOrEqual(5) // refreshed every 20 s of simulated time, not every cycle
    expect(writes.length).toBeLessThan(30)
    // Telemetry is rolled up once a simulated minute: 5 minutes, 5 or 6 calls.
    expect(calls.filter((c) => c.kind === 'downsample').length).toBeGreaterThanOrEqual(5)
  })

  it('runs self-consumption without a plan: the grid goes to zero while the battery can cover it', async () => {
    const loop = await loopFor(() => null)
    for (let i = 0; i < 5; i++) {
      await loop.tick()
      sim.advance(2000)
    }
    const report = await loop.tick()
    expect(report.decisions[0]!.mode).toBe('self-consumption')
    expect(Math.abs(sim.physics.gridW)).toBeLessThan(150) // load and PV drift between cycles
    expect(loop.activeAlarms()).toContain('plan:none')
  })

  it('stops commanding a stale battery, raises an alarm, and the battery falls back on its own', async () => {
    const loop = await loopFor(() => planOf(3000))
    await loop.tick()
    sim.advance(5000)
    expect(sim.physics.batteries[0]!.setpointW?.value).toBe(3000)
    await fetch(`${sim.apiUrl}/api/devices/bat1/faults`, { method: 'PUT', body: JSON.stringify({ noResponse: true }) })
    for (let i = 0; i < 10; i++) {
      await loop.tick()
      sim.advance(10_000)
    }
    const report = loop.latest()!
    expect(report.decisions[0]).toMatchObject({ mode: 'not-commanded', setpointW: null })
    expect(loop.activeAlarms()).toContain('stale:bat1')
    expect(calls.some((c) => c.kind === 'raise' && (c.args as { key: string }).key === 'stale:bat1')).toBe(true)
    expect(sim.physics.batteries[0]!.setpointW).toBeNull() // its own 60 s timeout reverted it
    await fetch(`${sim.apiUrl}/api/devices/bat1/faults`, { method: 'DELETE' })
    await loop.tick()
    expect(loop.activeAlarms()).not.toContain('stale:bat1')
    expect(calls.some((c) => c.kind === 'clear' && c.args === 'stale:bat1')).toBe(true)
  })

  it('keeps telemetry, writes and alarms in the real store', async () => {
    const real = createStore({ path: join(mkdtempSync(join(tmpdir(), 'gridmesh-loop-')), 'gridmesh.db') })
    try {
      const from = sim.physics.timeMs
      const loop = await loopFor(() => null, real)
      for (let i = 0; i < 8; i++) {
        await loop.tick()
        sim.advance(15_000)
      }
      const soc = real.queryTelemetry({ device: 'bat1', point: 'socPct', fromMs: from, toMs: sim.physics.timeMs })
      expect(soc.length).toBe(8)
      expect(real.listWrites({ fromMs: from, toMs: sim.physics.timeMs, device: 'bat1' }).length).toBeGreaterThan(0)
      expect(real.listAlarms({ state: 'active' }).map((a) => a.key)).toContain('plan:none')
    } finally {
      real.close()
    }
  })
})
