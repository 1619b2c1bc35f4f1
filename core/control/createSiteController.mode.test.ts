// The operator's mode and settings through the whole service: controller -> runtime -> loop -> decideSetpoints -> the battery driver.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import type { DeviceDriver, WriteResult } from '../devices/capabilities.ts'
import { siteFileSchema } from '../devices/site/siteFileSchema.ts'
import type { PlanWorker } from '../schedule/createPlanWorker.ts'
import { createStore, type Store } from '../store/createStore.ts'
import { createSiteController, type SiteEvent } from './createSiteController.ts'

const identity = { manufacturer: 'test', model: null, serialNumber: null, version: null }
const written = (point: string, w: number): WriteResult => ({ point, requested: w, written: w, clamped: false, readBack: w, verified: true })

function fakeSite() {
  const state = { gridW: 500, batteryW: 0, socPct: 50, setpoints: [] as number[] }
  const drivers: DeviceDriver[] = [
    { name: 'meter1', driver: 'fake', identity, capabilities: ['meter'], readAll: async () => [], meter: { readMeter: async () => ({ powerW: state.gridW, importWh: 0, exportWh: 0, frequencyHz: 50, voltageV: 230 }) } },
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
        readBattery: async () => ({ powerW: state.batteryW, socPct: state.socPct, fault: false }),
        setPowerW: async (w: number) => {
          state.setpoints.push(w)
          // The battery follows and the meter sees it, so readings move as physics would.
          state.gridW -= w - state.batteryW
          state.batteryW = w
          return written('704.WSet', w)
        },
        releasePower: async () => written('704.WSetEna', 0),
      },
    },
  ]
  return { state, drivers }
}

const site = siteFileSchema.parse({ name: 't', timezone: 'UTC', devices: [{ name: 'meter1', connection: { type: 'tcp', host: '127.0.0.1' } }, { name: 'bat1', connection: { type: 'tcp', host: '127.0.0.1' } }] })
// No plans in this test: the mode alone decides (a plan solve would only add time).
const noSolver = { plan: () => Promise.reject(new Error('no solver in this test')), close: async () => {} } as unknown as PlanWorker
let dir: string
let store: Store
afterEach(() => {
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('manual drives the battery inside the envelope until it expires; self-consumption raises no plan:none; settings apply live; all survive a restart', async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridmesh-mode-'))
  store = createStore({ path: join(dir, 'g.db') })
  const { state, drivers } = fakeSite()
  let nowMs = Date.UTC(2026, 0, 5, 0, 0, 0)
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver: noSolver })
  const events: SiteEvent[] = []
  controller.subscribe((e) => events.push(e))
  const step = async () => {
    nowMs += 1000
    return controller.tick()
  }

  // auto without a plan: no warning while the first plan is being made (one slot), then
  // self-consumption as a fallback and the warning that no plan exists
  expect((await step()).alarms.raised).not.toContain('plan:none')
  nowMs += 15 * 60_000
  expect((await step()).alarms.raised).toContain('plan:none')

  controller.operatingMode.set({ mode: 'manual', setpointW: 2000, expiresInMs: 60_000 }, 'ann')
  let report = await step()
  expect(report.decisions[0]).toMatchObject({ setpointW: 2000, mode: 'plan' })
  expect(report.alarms.cleared).toContain('plan:none')
  expect(state.setpoints.at(-1)).toBe(2000)

  // Beyond the battery's rating: clamped by the safety envelope, never written as asked.
  controller.operatingMode.set({ mode: 'manual', setpointW: -9000, expiresInMs: 60_000 }, 'ann')
  report = await step()
  expect(report.decisions[0]!.setpointW).toBe(-5000)

  // A grid import limit set live narrows the envelope under the manual target at once.
  controller.settings.update({ grid: { maxImportW: 1000 } }, 'ian')
  report = await step()
  const netLoadW = report.snapshot.gridW! + report.snapshot.batteries[0]!.powerW!
  expect(report.decisions[0]!.setpointW).toBe(Math.max(-5000, netLoadW - 1000))
  expect(report.decisions[0]!.reasons.join()).toMatch(/import limit/)

  // Expiry on the site clock: auto again, with a mode event by 'system'.
  nowMs += 60_000
  report = await step()
  expect(controller.operatingMode.current()).toMatchObject({ mode: 'auto', by: 'system' })
  expect(report.alarms.raised).toContain('plan:none')

  controller.operatingMode.set({ mode: 'self-consumption' }, 'ann')
  report = await step()
  expect(report.decisions[0]!.mode).toBe('self-consumption')
  expect(report.alarms.cleared).toContain('plan:none')
  expect(store.listAlarms({ state: 'active' }).map((a) => a.key)).not.toContain('plan:none')

  const modes = events.flatMap((e) => (e.type === 'mode' ? [`${e.mode.mode}:${e.mode.by}`] : []))
  expect(modes).toEqual(['manual:ann', 'manual:ann', 'auto:system', 'self-consumption:ann'])
  expect(events.filter((e) => e.type === 'settings')).toHaveLength(1)

  await controller.stop()
  const again = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver: noSolver })
  expect(again.operatingMode.current()).toMatchObject({ mode: 'self-consumption', by: 'ann' })
  expect(again.settings.gridLimits()).toEqual({ maxImportW: 1000, maxExportW: null })
  await again.stop()
})

it('an operator override is not moved by a market commitment: manual holds its setpoint and says what goes undelivered; auto delivers it', async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridmesh-mode-'))
  store = createStore({ path: join(dir, 'g.db') })
  const { state, drivers } = fakeSite()
  let nowMs = Date.UTC(2026, 0, 5, 0, 0, 0)
  // the site committed to export 1500 W more than its plan this interval
  const market = { planMarket: () => null, commitment: () => ({ extraExportW: 1500, committedW: 1500 }) }
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver: noSolver, market })
  const step = async () => {
    nowMs += 1000
    return controller.tick()
  }
  controller.operatingMode.set({ mode: 'manual', setpointW: -2000, expiresInMs: 60_000 }, 'ann')
  let report = await step()
  expect(report.decisions[0]!.setpointW).toBe(-2000)
  expect(report.decisions[0]!.reasons.join()).toMatch(/market: 1500 W committed, not delivered \(manual -2000 W/)
  expect(state.setpoints.at(-1)).toBe(-2000)
  expect(report.market).toEqual({ committedW: 1500, extraExportW: 1500, delivered: false })

  // auto without a plan: self-consumption shifted by the commitment (grid 500 W net load -> 500 + 1500)
  controller.operatingMode.set({ mode: 'auto' }, 'ann')
  report = await step()
  expect(report.decisions[0]!.mode).toBe('self-consumption')
  expect(report.decisions[0]!.reasons.join()).not.toMatch(/not delivered/)
  const netLoadW = report.snapshot.gridW! + report.snapshot.batteries[0]!.powerW!
  expect(report.decisions[0]!.setpointW).toBe(netLoadW + 1500)
  expect(report.market).toEqual({ committedW: 1500, extraExportW: 1500, delivered: true })
  await controller.stop()
})
