import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createControlLoop, type ControlStore } from '../../core/control/createControlLoop.ts'
import type { SiteLimits } from '../../core/control/decideSetpoints.ts'
import { createConnectionPool } from '../../core/devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../core/devices/sunspec/createSunSpecDriver.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// PV curtailment by the real loop against the simulator under a virtual clock: a full
// battery at midday cannot absorb the surplus, so only capping the inverter keeps the
// export within the site's limit.
let sim: Simulator
const pool = createConnectionPool({ timeoutMs: 300, retries: 0, defectiveAfterFailures: 1000 })
const calls: { kind: string; args: unknown }[] = []
const store: ControlStore = {
  appendTelemetry: (samples) => calls.push({ kind: 'telemetry', args: samples }),
  recordWrite: (w) => calls.push({ kind: 'write', args: w }),
  raiseAlarm: (a) => calls.push({ kind: 'raise', args: a }),
  clearAlarm: (key) => calls.push({ kind: 'clear', args: key }),
  downsample: () => {},
}
const logs: string[] = []
const maxExportW = 1500
const toleranceW = 150 // load and PV drift between a cycle's reading and the next

beforeAll(async () => {
  sim = await startSimulator(
    testSite({
      devices: [
        { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 1 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0, commandTimeoutS: 600 },
        {
          name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0, unitId: 1 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000,
          chargeEfficiency: 0.95, dischargeEfficiency: 0.95, socMinPct: 5, socMaxPct: 100, initialSocPct: 100, commandTimeoutS: 60,
        },
        { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } },
      ],
    }),
    { log: () => {} },
  )
})
afterAll(async () => {
  await pool.close()
  await sim.close()
})

async function loopWith(site: () => SiteLimits) {
  const port = (name: string) => sim.ready.find((r) => r.device === name)!.port!
  const drivers = await Promise.all(['pv1', 'bat1', 'meter1'].map((name) => createSunSpecDriver({ name, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: port(name) }), unitId: 1 })))
  return createControlLoop({
    devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 15_000, refreshMs: 20_000 })),
    batteryLimits: { bat1: { maxChargeW: 5000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95, rampWPerS: Infinity } },
    site,
    now: () => sim.physics.timeMs,
    plan: () => null,
    store,
    log: (m) => logs.push(m),
  })
}

const inverter = () => sim.physics.inverters[0]!
/** One point of the inverter, read over Modbus like any peer would. */
async function pvPoint(name: string) {
  const port = sim.ready.find((r) => r.device === 'pv1')!.port!
  const driver = await createSunSpecDriver({ name: 'pv1-probe', client: pool.get({ type: 'tcp', host: '127.0.0.1', port }), unitId: 1 })
  return (await driver.readAll()).find((p) => p.name === name)?.value
}

describe('PV curtailment against the simulator', () => {
  let limits: SiteLimits = { maxImportW: null, maxExportW }
  let loop: Awaited<ReturnType<typeof loopWith>>

  it('caps PV so the metered export stays within the site limit while the full battery cannot charge', async () => {
    sim.advance(2000)
    expect(-sim.physics.gridW).toBeGreaterThan(maxExportW + 1000) // not a vacuous test: left alone, it exports more
    loop = await loopWith(() => limits)
    await loop.tick() // the first cycle sees the uncapped surplus and caps it
    for (let i = 0; i < 30; i++) {
      sim.advance(10_000) // 5 minutes at 10 s cycles: the inverter's 60 s revert timer would pass 5 times
      const report = await loop.tick()
      expect(report.snapshot.gridW).not.toBeNull()
      expect(report.snapshot.gridW!).toBeGreaterThanOrEqual(-maxExportW - toleranceW) // the meter, as the loop read it
      expect(sim.physics.gridW).toBeGreaterThanOrEqual(-maxExportW - toleranceW)
    }
    const report = loop.latest()!
    expect(report.decisions[0]).toMatchObject({ setpointW: 0 }) // SoC 100 % >= 95 %: no charge
    expect(report.pvDecisions[0]).toMatchObject({ name: 'pv1', mode: 'export-limit' })
    expect(inverter().limitPct).not.toBeNull()
    expect(inverter().powerW).toBeLessThan(inverter().availableW - 500) // really curtailed
    // The loop asked for the revert timer, and refreshed the cap before it ran out.
    expect(await pvPoint('123.WMaxLimPct_RvrtTms')).toBe(60)
    expect(await pvPoint('123.WMaxLimPct_WinTms')).toBe(0)
    expect(inverter().limitPct!.expiresAtMs).toBeGreaterThan(sim.physics.timeMs)
    expect(sim.recentEvents().some((e) => e.includes('pv1: power limit not refreshed'))).toBe(false)
    const pvWrites = calls.filter((c) => c.kind === 'write' && (c.args as { device: string }).device === 'pv1').map((c) => c.args as { point: string; verified: boolean; reason: string })
    expect(pvWrites.length).toBeGreaterThanOrEqual(5) // at least one per 20 s refresh...
    expect(pvWrites.length).toBeLessThan(31) // ...not necessarily every cycle
    expect(pvWrites.every((w) => w.point === '123.WMaxLimPct' && w.verified && w.reason.startsWith('export-limit'))).toBe(true)
    expect(logs.some((l) => l.startsWith('pv1: PV capped at'))).toBe(true)
    expect(report.pvDecisions[0]!.limitW).toBeLessThan(8000)
  })

  it('releases the cap when the limit is lifted, and PV comes back', async () => {
    limits = { maxImportW: null, maxExportW: null }
    const report = await loop.tick()
    expect(report.pvDecisions[0]).toMatchObject({ limitW: null, mode: 'released' })
    expect(report.writes.find((w) => w.device === 'pv1')?.result).toMatchObject({ point: '123.WMaxLim_Ena', written: 0, verified: true })
    sim.advance(2000)
    expect(inverter().limitPct).toBeNull()
    expect(inverter().powerW).toBeCloseTo(inverter().availableW, 0)
    expect(-sim.physics.gridW).toBeGreaterThan(maxExportW + toleranceW)
    expect(logs.some((l) => l.startsWith('pv1: PV cap released'))).toBe(true)
    // Nothing more to release: no further writes.
    const again = await loop.tick()
    expect(again.writes.filter((w) => w.device === 'pv1')).toEqual([])
  })

  it('does not write a stale inverter: it reverts to full power on its own timer, and is capped again once back', async () => {
    limits = { maxImportW: null, maxExportW }
    await loop.tick()
    sim.advance(2000)
    expect(inverter().limitPct).not.toBeNull()
    await fetch(`${sim.apiUrl}/api/devices/pv1/faults`, { method: 'PUT', body: JSON.stringify({ noResponse: true }) })
    // Until staleAfterMs (15 s) passes its last reading still counts, and a write may be tried (and fail).
    for (let i = 0; i < 2; i++) {
      sim.advance(10_000)
      await loop.tick()
    }
    expect(loop.latest()!.pvDecisions[0]).toMatchObject({ mode: 'not-commanded' })
    const writesBefore = calls.filter((c) => c.kind === 'write' && (c.args as { device: string }).device === 'pv1').length
    for (let i = 0; i < 7; i++) {
      sim.advance(10_000)
      const report = await loop.tick()
      expect(report.writes.filter((w) => w.device === 'pv1')).toEqual([])
    }
    expect(loop.latest()!.pvDecisions[0]).toMatchObject({ limitW: null, mode: 'not-commanded' })
    expect(loop.activeAlarms()).toContain('stale:pv1')
    expect(calls.filter((c) => c.kind === 'write' && (c.args as { device: string }).device === 'pv1').length).toBe(writesBefore)
    expect(inverter().limitPct).toBeNull() // its own 60 s revert timer lifted the cap
    expect(sim.recentEvents().some((e) => e.includes('pv1: power limit not refreshed; reverted to 100 %'))).toBe(true)
    await fetch(`${sim.apiUrl}/api/devices/pv1/faults`, { method: 'DELETE' })
    const back = await loop.tick()
    expect(loop.activeAlarms()).not.toContain('stale:pv1')
    expect(back.writes.find((w) => w.device === 'pv1')?.result).toMatchObject({ point: '123.WMaxLimPct', verified: true })
    sim.advance(2000)
    expect(inverter().limitPct).not.toBeNull()
    await loop.tick()
    expect(sim.physics.gridW).toBeGreaterThanOrEqual(-maxExportW - toleranceW)
  })

  it('raises an alarm when a cap cannot be written, retries every cycle, and clears it once a write is verified', async () => {
    const raisedBefore = calls.filter((c) => c.kind === 'raise' && (c.args as { key: string }).key === 'write:pv1').length
    expect(loop.activeAlarms()).not.toContain('write:pv1')
    await fetch(`${sim.apiUrl}/api/devices/pv1/faults`, { method: 'PUT', body: JSON.stringify({ exceptionCode: 4 }) })
    limits = { maxImportW: null, maxExportW: 1000 } // a lower cap is due at once
    const failed = await loop.tick()
    expect(failed.writes.find((w) => w.device === 'pv1')?.error).toMatch(/exception/i)
    expect(loop.activeAlarms()).toContain('write:pv1')
    expect(calls.filter((c) => c.kind === 'raise' && (c.args as { key: string }).key === 'write:pv1').length).toBe(raisedBefore + 1)
    sim.advance(1000)
    await fetch(`${sim.apiUrl}/api/devices/pv1/faults`, { method: 'DELETE' })
    const retried = await loop.tick()
    expect(retried.writes.find((w) => w.device === 'pv1')?.result).toMatchObject({ point: '123.WMaxLimPct', verified: true })
    expect(loop.activeAlarms()).not.toContain('write:pv1')
    expect(calls.some((c) => c.kind === 'clear' && c.args === 'write:pv1')).toBe(true)
    sim.advance(2000)
    await loop.tick()
    expect(sim.physics.gridW).toBeGreaterThanOrEqual(-1000 - toleranceW)
  })
})

describe('PV curtailment after the battery', () => {
  it('charges the battery as fast as allowed first and curtails only the rest, with zero export allowed', async () => {
    const own = await startSimulator(testSite(), { log: () => {} }) // battery at 50 %
    const ownPool = createConnectionPool({ timeoutMs: 300, retries: 0, defectiveAfterFailures: 1000 })
    try {
      own.advance(2000)
      const surplusW = own.physics.inverters[0]!.powerW - own.physics.loadW
      expect(surplusW).toBeGreaterThan(3000) // a 2 kW charge cannot take it all
      const port = (name: string) => own.ready.find((r) => r.device === name)!.port!
      const drivers = await Promise.all(['pv1', 'bat1', 'meter1'].map((name) => createSunSpecDriver({ name, client: ownPool.get({ type: 'tcp', host: '127.0.0.1', port: port(name) }), unitId: 1 })))
      const loop = createControlLoop({
        devices: drivers.map((driver) => ({ name: driver.name, driver })),
        batteryLimits: { bat1: { maxChargeW: 2000, maxDischargeW: 5000, socMinPct: 10, socMaxPct: 95, rampWPerS: Infinity } },
        site: { maxImportW: null, maxExportW: 0 },
        now: () => own.physics.timeMs,
        plan: () => null,
      })
      for (let i = 0; i < 12; i++) {
        await loop.tick()
        own.advance(5000)
        if (i > 0) expect(own.physics.gridW).toBeGreaterThanOrEqual(-toleranceW)
      }
      const report = loop.latest()!
      expect(report.decisions[0]).toMatchObject({ mode: 'self-consumption', setpointW: -2000 })
      expect(own.physics.batteries[0]!.powerW).toBe(-2000)
      expect(report.pvDecisions[0]!.mode).toBe('export-limit')
      const pv = own.physics.inverters[0]!
      expect(pv.powerW).toBeLessThan(pv.availableW - 500)
      expect(pv.powerW).toBeCloseTo(own.physics.loadW + 2000, -3) // load + charge, nothing exported
    } finally {
      await ownPool.close()
      await own.close()
    }
  })
})
