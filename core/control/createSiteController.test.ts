import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { DeviceDriver, WriteResult } from '../devices/capabilities.ts'
import { siteFileSchema } from '../devices/site/siteFileSchema.ts'
import { createStore, type Store } from '../store/createStore.ts'
import type { PlanWorker } from '../schedule/createPlanWorker.ts'
import { planSchedule } from '../schedule/planSchedule.ts'
import { createSiteController, type SiteEvent } from './createSiteController.ts'

const identity = { manufacturer: 'test', model: null, serialNumber: null, version: null }
const written = (point: string, w: number): WriteResult => ({ point, requested: w, written: w, clamped: false, readBack: w, verified: true })

// Devices whose readings the test sets: the controller sees exactly these numbers.
function fakeSite() {
  const state = { gridW: 500, pvW: 0, batteryW: 0, socPct: 50, setpoints: [] as number[] }
  const drivers: DeviceDriver[] = [
    { name: 'meter1', driver: 'fake', identity, capabilities: ['meter'], readAll: async () => [], meter: { readMeter: async () => ({ powerW: state.gridW, importWh: 0, exportWh: 0, frequencyHz: 50, voltageV: 230 }) } },
    {
      name: 'bat1', driver: 'fake', identity, capabilities: ['battery'], readAll: async () => [],
      battery: {
        maxChargeW: 5000, maxDischargeW: 5000, capacityWh: 10_000, socMinPct: 0, socMaxPct: 100,
        readBattery: async () => ({ powerW: state.batteryW, socPct: state.socPct, fault: false }),
        setPowerW: async (w: number) => {
          state.setpoints.push(w)
          return written('704.WSet', w)
        },
        releasePower: async () => written('704.WSetEna', 0),
      },
    },
  ]
  return { state, drivers }
}

const site = siteFileSchema.parse({ name: 't', timezone: 'UTC', devices: [{ name: 'meter1', connection: { type: 'tcp', host: '127.0.0.1' } }, { name: 'bat1', connection: { type: 'tcp', host: '127.0.0.1' } }] })
let dir: string
let store: Store
afterEach(() => {
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('createSiteController', () => {
  it('plans every slot, and inside a slot only when the battery strays from the plan', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-site-'))
    store = createStore({ path: join(dir, 'g.db') })
    const { state, drivers } = fakeSite()
    let nowMs = Date.UTC(2026, 0, 5, 0, 0, 0)
    const logs: string[] = []
    const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, log: (m) => logs.push(m) })
    const plans: number[] = []
    controller.subscribe((e: SiteEvent) => e.type === 'plan' && plans.push(e.plan.createdAtMs))
    await controller.tick()
      await controller.planning()
    expect(plans).toEqual([nowMs])
    const first = controller.plan()!
    // The battery does exactly what the plan predicted: no re-plan for the rest of the slot.
    for (let i = 1; i < 10; i++) {
      nowMs += 60_000
      const slot = first.slots[0]!
      state.socPct = first.initialSocPct! + ((slot.socPct! - first.initialSocPct!) * i) / 15
      await controller.tick()
      await controller.planning()
    }
    expect(plans).toHaveLength(1)
    // Ten points away from the plan: re-planned at once, within the same slot, from the measured SoC.
    nowMs += 60_000
    state.socPct -= 10
    await controller.tick()
      await controller.planning()
    expect(plans).toEqual([first.createdAtMs, nowMs])
    expect(logs.find((l) => l.startsWith('re-planning'))).toMatch(/^re-planning: battery SoC [\d.]+ % is [\d.]+ points from the planned [\d.]+ %$/)
    expect(controller.plan()!.startMs).toBe(first.startMs)
    expect(controller.plan()!.initialSocPct).toBeCloseTo(state.socPct, 6)
    // A new slot always re-plans.
    nowMs = first.startMs + 900_000
    await controller.tick()
      await controller.planning()
    expect(plans).toHaveLength(3)
    expect(store.latestPlan()?.createdAtMs).toBe(nowMs)
  })

  it('keeps history across a restart: the store seeds the slot means', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-site-'))
    store = createStore({ path: join(dir, 'g.db') })
    const { state, drivers } = fakeSite()
    let nowMs = Date.UTC(2026, 0, 5, 0, 0, 0)
    const first = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null })
    for (let i = 0; i < 3 * 15 + 1; i++, nowMs += 60_000) {
      await first.tick()
      await first.planning()
    }
    await first.stop()
    store.downsample(nowMs)
    // The load now is 900 W; before the restart it was 500 W (grid 500, pv 0, battery 0) for three slots.
    state.gridW = 900
    const second = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null })
    await second.tick()
    await second.planning()
    expect(second.forecast().loadMethod).toBe('seasonal-naive (no model)')
    expect(second.forecast().load?.valuesW.slice(0, 4)).toEqual([500, 500, 500, 500])
  })

  it('plans beside the cycle: a cycle does not wait for the solve, and follows the plan in force until the new one lands', async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-site-'))
    store = createStore({ path: join(dir, 'g.db') })
    const { drivers } = fakeSite()
    let nowMs = Date.UTC(2026, 0, 5, 0, 0, 0)
    // A solver that holds every solve until the test lets it go.
    const held: { release: () => void }[] = []
    const solver: PlanWorker = {
      plan: async (input, o) => {
        await new Promise<void>((resolve) => held.push({ release: resolve }))
        return planSchedule(input, o)
      },
      close: async () => {},
    }
    const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver })
    await controller.tick()
    expect(held).toHaveLength(1)
    expect(controller.plan()).toBeNull()
    // Three more cycles while the solve is held: each returns, with no plan in force (self-consumption).
    for (let i = 0; i < 3; i++) {
      nowMs += 1000
      const report = await controller.tick()
      expect(report.planSlotStartMs).toBeNull()
    }
    expect(held).toHaveLength(1)
    held[0]!.release()
    await controller.planning()
    nowMs += 1000
    const report = await controller.tick()
    expect(report.planSlotStartMs).toBe(Date.UTC(2026, 0, 5, 0, 0, 0))
    await controller.stop()
  })
})
