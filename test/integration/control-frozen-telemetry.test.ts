import { afterEach, describe, expect, it } from 'vitest'
import { createControlLoop, type ControlStore } from '../../core/control/createControlLoop.ts'
import { createConnectionPool } from '../../core/devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../core/devices/sunspec/createSunSpecDriver.ts'
import type { Plan } from '../../core/schedule/planSchedule.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// Issue 11, failure 2: with the battery's registers frozen while it charged, the loop kept
// charging on the frozen SoC and the simulated battery went past its limit with no alarm.
// The real loop runs against the real simulator under a stepped virtual clock; the truth is
// the simulator's own state (GET /api/state), never what the loop read.

const socMaxPct = 90
// The documented bound (core/control/README.md, "Stale and frozen telemetry"): the energy that
// may flow unseen is 3 SoC steps (0.1 % of 13.5 kWh each), plus one cycle and one step of rounding.
const socTolerancePct = 0.5
const cycleS = 5

type SimState = { timeMs: number; devices: { name: string; socPct?: number; setpointW?: number | null; powerW?: number }[] }
type Alarm = { key: string; device: string | null; severity: string; message: string }

let sim: Simulator | null = null
let pool: ReturnType<typeof createConnectionPool> | null = null
afterEach(async () => {
  await pool?.close()
  await sim?.close()
  pool = null
  sim = null
})

const api = async (path: string, init?: RequestInit) => {
  const response = await fetch(`${sim!.apiUrl}${path}`, init)
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${path}: ${response.status} ${await response.text()}`)
  return response.json() as Promise<unknown>
}
const state = async () => (await api('/api/state')) as SimState
const battery = async () => (await state()).devices.find((d) => d.name === 'bat1')!
const setFaults = (device: string, faults: object) => api(`/api/devices/${device}/faults`, { method: 'PUT', body: JSON.stringify(faults) })
const clearFaults = (device: string) => api(`/api/devices/${device}/faults`, { method: 'DELETE' })
const advance = (seconds: number) => api('/api/clock/advance', { method: 'POST', body: JSON.stringify({ seconds }) })

async function start(initialSocPct: number) {
  sim = await startSimulator(
    testSite({
      devices: [
        { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 1 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0, commandTimeoutS: 60 },
        // The simulated battery's own limit is 100 %: only the controller's 90 % stands between it and overcharge.
        { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0, unitId: 1 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, chargeEfficiency: 0.95, dischargeEfficiency: 0.95, socMinPct: 5, socMaxPct: 100, initialSocPct, commandTimeoutS: 60 },
        { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } },
      ],
    }),
    { log: () => {} },
  )
  pool = createConnectionPool({ timeoutMs: 500, retries: 0, defectiveAfterFailures: 1000 })
  const port = (name: string) => sim!.ready.find((r) => r.device === name)!.port!
  const drivers = await Promise.all(['pv1', 'bat1', 'meter1'].map((name) => createSunSpecDriver({ name, client: pool!.get({ type: 'tcp', host: '127.0.0.1', port: port(name) }), unitId: 1 })))
  const alarms: Alarm[] = []
  const cleared: string[] = []
  const store: ControlStore = {
    appendTelemetry: () => {},
    recordWrite: () => {},
    raiseAlarm: (a) => alarms.push(a),
    clearAlarm: (key) => cleared.push(key),
    downsample: () => {},
  }
  let batteryPowerW: number | null = -4400
  const plan = (): Plan | null => batteryPowerW === null ? null : ({
    version: 1, createdAtMs: sim!.physics.timeMs, startMs: sim!.physics.timeMs - 60_000, slotDurationMs: 3_600_000, objective: 'cost', objectiveValue: 0,
    expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: 50, unmetGoals: [], warnings: [],
    solveStats: { solveTimeMs: 0, rounds: 0, integerVariables: 0, columns: 0, rows: 0 },
    // gridPowerW far from 0: the battery follows the planned power, not the grid.
    slots: [{ startMs: sim!.physics.timeMs - 60_000, batteryPowerW, gridPowerW: 3000, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: 50, flexibleLoads: [], marketBuyW: 0, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 }],
  })
  const loop = createControlLoop({
    devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 15_000, refreshMs: 20_000 })),
    batteryLimits: { bat1: { maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct, rampWPerS: Infinity } },
    site: { maxImportW: null, maxExportW: null },
    now: () => sim!.physics.timeMs,
    plan,
    store,
  })
  const cycle = async () => {
    const report = await loop.tick()
    await advance(cycleS)
    return report
  }
  return { loop, alarms, cleared, cycle, setPlanW: (w: number | null) => (batteryPowerW = w) }
}

describe('frozen telemetry against the simulator (issue 11, failure 2)', () => {
  it('a battery whose registers freeze while it charges near its SoC limit is detected, held at 0 W and alarmed; the true SoC stays within the limit', { timeout: 120_000 }, async () => {
    const { loop, alarms, cleared, cycle } = await start(88.5)
    // Charge at 4.4 kW until the battery reads just under its 90 % limit, then freeze its registers.
    let charging = false
    for (let i = 0; i < 60 && (await battery()).socPct! < 89.8; i++) {
      const report = await cycle()
      charging ||= report.decisions[0]?.setpointW === -4400
    }
    expect(charging).toBe(true)
    const frozenAt = await battery()
    expect(frozenAt.socPct).toBeGreaterThanOrEqual(89.8)
    expect(frozenAt.socPct).toBeLessThan(socMaxPct)
    await setFaults('bat1', { frozen: true })
    const frozenAtMs = (await state()).timeMs

    let maxSocPct = 0
    let detectedAtMs: number | null = null
    for (let i = 0; i < 60; i++) {
      const report = await cycle()
      const bat = report.devices.find((d) => d.name === 'bat1')!
      if (detectedAtMs === null && bat.stale && /frozen/.test(bat.error ?? '')) detectedAtMs = report.timeMs
      maxSocPct = Math.max(maxSocPct, (await battery()).socPct!)
    }
    const truth = await battery()
    console.log(`frozen at ${frozenAt.socPct} %; detected after ${detectedAtMs === null ? 'never' : `${(detectedAtMs - frozenAtMs) / 1000} s`}; true SoC at most ${maxSocPct.toFixed(3)} %, now ${truth.socPct!.toFixed(3)} %, setpoint ${truth.setpointW} W`)
    expect(maxSocPct).toBeLessThanOrEqual(socMaxPct + socTolerancePct)
    expect(detectedAtMs).not.toBeNull()
    // Held safe: actively commanded to 0 W (not left to run its last setpoint), and it stays there.
    expect(truth.setpointW).toBe(0)
    expect(Math.abs(truth.powerW!)).toBeLessThan(1)
    const report = loop.latest()!
    expect(report.decisions[0]).toMatchObject({ name: 'bat1', setpointW: 0, mode: 'hold' })
    const alarm = alarms.find((a) => a.key === 'frozen:bat1')
    expect(alarm?.severity).toBe('critical')
    // It names the value, how long it was frozen and the power that flowed.
    expect(alarm?.message).toMatch(/SoC/)
    expect(alarm?.message).toMatch(/\d+ s/)
    expect(alarm?.message).toMatch(/-?4400 W/)
    expect(loop.activeAlarms()).toContain('frozen:bat1')

    // Recovery: the registers follow the physics again; staleness and alarm clear.
    await clearFaults('bat1')
    for (let i = 0; i < 4; i++) await cycle()
    const after = loop.latest()!
    expect(after.devices.find((d) => d.name === 'bat1')).toMatchObject({ stale: false, error: null })
    expect(loop.activeAlarms()).not.toContain('frozen:bat1')
    expect(cleared).toContain('frozen:bat1')
    // Back under control, and still never above its limit.
    expect(after.decisions[0]!.mode).toBe('plan')
    expect((await battery()).socPct!).toBeLessThanOrEqual(socMaxPct + socTolerancePct)
  })

  it('a battery frozen while idle is caught when it is then told to charge (its power reading does not follow the command)', { timeout: 120_000 }, async () => {
    const { loop, alarms, cycle, setPlanW } = await start(89.5)
    setPlanW(0)
    for (let i = 0; i < 3; i++) await cycle()
    await setFaults('bat1', { frozen: true })
    setPlanW(-4400)
    let maxSocPct = 0
    for (let i = 0; i < 40; i++) {
      await cycle()
      maxSocPct = Math.max(maxSocPct, (await battery()).socPct!)
    }
    expect(maxSocPct).toBeLessThanOrEqual(socMaxPct + socTolerancePct)
    expect(loop.activeAlarms()).toContain('frozen:bat1')
    expect(alarms.find((a) => a.key === 'frozen:bat1')?.message).toMatch(/power/)
    expect((await battery()).setpointW).toBe(0)
  })

  it('a meter whose energy counter stops while power flows through it is stale, and named', { timeout: 120_000 }, async () => {
    const { loop, alarms, cycle, setPlanW } = await start(50)
    setPlanW(-4400) // charging from the grid: the meter imports
    for (let i = 0; i < 3; i++) await cycle()
    expect((await state()).devices.find((d) => d.name === 'meter1')!.powerW).toBeGreaterThan(1000)
    await setFaults('meter1', { frozen: true })
    for (let i = 0; i < 40; i++) await cycle()
    const meter = loop.latest()!.devices.find((d) => d.name === 'meter1')!
    expect(meter.stale).toBe(true)
    expect(meter.error).toMatch(/frozen/)
    expect(loop.latest()!.snapshot.gridW).toBeNull()
    expect(alarms.find((a) => a.key === 'frozen:meter1')?.message).toMatch(/import/)
    await clearFaults('meter1')
    for (let i = 0; i < 3; i++) await cycle()
    expect(loop.latest()!.devices.find((d) => d.name === 'meter1')).toMatchObject({ stale: false, error: null })
    expect(loop.activeAlarms()).not.toContain('frozen:meter1')
  })

  it('a meter frozen near 0 W in self-consumption is caught when the PV it must see drops (its counters do not move either)', { timeout: 120_000 }, async () => {
    const { loop, alarms, cycle, setPlanW } = await start(50)
    setPlanW(null) // no plan: the battery tracks the grid to 0 W
    let gridW = Infinity
    for (let i = 0; i < 20 && Math.abs(gridW) > 300; i++) {
      await cycle()
      gridW = (await state()).devices.find((d) => d.name === 'meter1')!.powerW!
    }
    expect(Math.abs(gridW)).toBeLessThanOrEqual(300)
    await setFaults('meter1', { frozen: true })
    await cycle()
    // 6-8 kW of PV disappears: the true grid imports it, the frozen meter still reads ~0 W.
    await setFaults('pv1', { tripped: true })
    let detectedAfterS: number | null = null
    for (let i = 1; i <= 20 && detectedAfterS === null; i++) {
      const report = await cycle()
      if (report.devices.find((d) => d.name === 'meter1')!.stale) detectedAfterS = i * cycleS
    }
    console.log(`meter frozen at ${gridW.toFixed(0)} W, PV tripped: detected after ${detectedAfterS} s`)
    expect(detectedAfterS).not.toBeNull()
    const meter = loop.latest()!.devices.find((d) => d.name === 'meter1')!
    expect(meter.error).toMatch(/^frozen: power reading frozen at -?\d+(\.\d+)? W for \d+ s while the batteries and PV it measures moved by \d+ W/)
    expect(alarms.find((a) => a.key === 'frozen:meter1')?.severity).toBe('critical')
    expect(loop.latest()!.snapshot.gridW).toBeNull()
    await clearFaults('meter1')
    await clearFaults('pv1')
    for (let i = 0; i < 3; i++) await cycle()
    expect(loop.latest()!.devices.find((d) => d.name === 'meter1')).toMatchObject({ stale: false, error: null })
  })
})
