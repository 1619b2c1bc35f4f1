// Gaps the soak campaign found (issue 11): a tripped PV inverter and a battery without SoC went
// unalarmed, alarms of a killed service stayed active after its restart, and a failing planner
// raised nothing and was not tried again until the next slot.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { BatteryReading, DeviceDriver, PvReading, WriteResult } from '../devices/capabilities.ts'
import { siteFileSchema } from '../devices/site/siteFileSchema.ts'
import type { PlanWorker } from '../schedule/createPlanWorker.ts'
import { planSchedule } from '../schedule/planSchedule.ts'
import { createStore, type Store } from '../store/createStore.ts'
import { createSiteController } from './createSiteController.ts'

const identity = { manufacturer: 'test', model: null, serialNumber: null, version: null }
const written = (point: string, w: number): WriteResult => ({ point, requested: w, written: w, clamped: false, readBack: w, verified: true })

function fakeSite() {
  const state = { gridW: 500, batteryW: 0, battery: { socPct: 50 as number | null, fault: false }, pv: { powerW: 2000, fault: false }, setpoints: [] as number[] }
  const drivers: DeviceDriver[] = [
    { name: 'meter1', driver: 'fake', identity, capabilities: ['meter'], readAll: async () => [], meter: { readMeter: async () => ({ powerW: state.gridW, importWh: null, exportWh: null, frequencyHz: 50, voltageV: 230 }) } },
    {
      name: 'pv1',
      driver: 'fake',
      identity,
      capabilities: ['pv'],
      readAll: async () => [],
      pv: { ratedW: 5000, readPv: async (): Promise<PvReading> => ({ powerW: state.pv.powerW, energyWh: null, limitPct: 100, fault: state.pv.fault }), setPowerLimitPct: async (pct) => written('123.WMaxLimPct', pct), clearPowerLimit: async () => written('123.WMaxLim_Ena', 0) },
    },
    {
      name: 'bat1',
      driver: 'fake',
      identity,
      capabilities: ['battery'],
      readAll: async () => [],
      battery: {
        maxChargeW: 5000,
        maxDischargeW: 5000,
        capacityWh: 10_000,
        socMinPct: 0,
        socMaxPct: 100,
        readBattery: async (): Promise<BatteryReading> => ({ powerW: state.batteryW, socPct: state.battery.socPct, fault: state.battery.fault }),
        setPowerW: async (w: number) => {
          state.setpoints.push(w)
          state.batteryW = w
          return written('704.WSet', w)
        },
        releasePower: async () => written('704.WSetEna', 0),
      },
    },
  ]
  return { state, drivers }
}

const site = siteFileSchema.parse({
  name: 't',
  timezone: 'UTC',
  devices: ['meter1', 'pv1', 'bat1'].map((name) => ({ name, connection: { type: 'tcp', host: '127.0.0.1' } })),
})
const noSolver = { plan: () => Promise.reject(new Error('no solver in this test')), close: async () => {} } as unknown as PlanWorker
let dir: string
let store: Store
afterEach(() => {
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})
const open = (name: string) => {
  dir = mkdtempSync(join(tmpdir(), `gridmesh-${name}-`))
  store = createStore({ path: join(dir, 'g.db') })
}
const activeKeys = () => store.listAlarms({ state: 'active' }).map((a) => a.key)

it('a tripped PV inverter and a battery without a state of charge are stale, alarmed and not commanded', async () => {
  open('faults')
  const { state, drivers } = fakeSite()
  let nowMs = Date.UTC(2026, 0, 5)
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver: noSolver, staleAfterMs: 10_000 })
  const step = async (s: number) => {
    nowMs += s * 1000
    return controller.tick()
  }
  await step(1)
  expect(activeKeys()).not.toContain('stale:pv1')
  state.pv.fault = true
  state.battery.socPct = null
  await step(1)
  const report = await step(11)
  expect(report.devices.find((d) => d.name === 'pv1')).toMatchObject({ stale: true, error: 'the device reports FAULT' })
  expect(report.devices.find((d) => d.name === 'bat1')).toMatchObject({ stale: true, error: expect.stringMatching(/no state of charge/) })
  expect(activeKeys()).toEqual(expect.arrayContaining(['stale:pv1', 'stale:bat1']))
  const writes = state.setpoints.length
  await step(1)
  expect(state.setpoints).toHaveLength(writes)
  state.pv.fault = false
  state.battery.socPct = 50
  await step(1)
  expect(activeKeys()).not.toEqual(expect.arrayContaining(['stale:pv1']))
  expect(activeKeys()).not.toContain('stale:bat1')
  await controller.stop()
})

it("clears the alarms a killed run left active once their condition is gone, and keeps those whose condition holds", async () => {
  open('restart')
  const { state, drivers } = fakeSite()
  const nowMs = Date.UTC(2026, 0, 5)
  // What a service killed while bat1 was stale and pv1 tripped left behind.
  store.raiseAlarm({ key: 'stale:bat1', device: 'bat1', severity: 'warning', message: 'bat1: no valid reading', timeMs: nowMs - 60_000 })
  store.raiseAlarm({ key: 'stale:pv1', device: 'pv1', severity: 'warning', message: 'pv1: FAULT', timeMs: nowMs - 60_000 })
  state.pv.fault = true
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver: noSolver, staleAfterMs: 10_000 })
  await controller.tick()
  expect(activeKeys()).not.toContain('stale:bat1')
  // pv1 is still tripped: its alarm stays, the same one (not raised twice).
  expect(store.listAlarms({ state: 'active' }).filter((a) => a.key === 'stale:pv1')).toHaveLength(1)
  await controller.stop()
})

it('a failing planner is alarmed, tried again a minute later instead of at the next slot, and the alarm clears with the first plan', async () => {
  open('planfail')
  const { drivers } = fakeSite()
  let nowMs = Date.UTC(2026, 0, 5, 0, 0, 30)
  let failures = 1
  let calls = 0
  const solver = {
    plan: (input: Parameters<PlanWorker['plan']>[0], opts: Parameters<PlanWorker['plan']>[1]) => {
      calls++
      return failures-- > 0 ? Promise.reject(new Error('HiGHS gave up')) : planSchedule(input, opts)
    },
    close: async () => {},
  } as unknown as PlanWorker
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver })
  const step = async (s: number) => {
    nowMs += s * 1000
    const report = await controller.tick()
    await controller.runtime.planning()
    return report
  }
  await step(1)
  expect(calls).toBe(1)
  expect(store.listAlarms({ state: 'active' }).find((a) => a.key === 'plan:failed')?.message).toMatch(/planning failed: .*HiGHS gave up/)
  await step(30)
  expect(calls).toBe(1)
  await step(31)
  expect(calls).toBe(2)
  expect(controller.plan()).not.toBeNull()
  expect(activeKeys()).not.toContain('plan:failed')
  await controller.stop()
})
