// Issue 16: a site file's weather source that goes bad and recovers, through serve's
// composition (createSiteController): each problem is an info alarm weather:<problem> with
// its reason, raised once while it lasts, replaced when the problem changes, cleared when the
// weather is usable again; the PV forecast falls back meanwhile and every slot is planned.
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
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
const drivers: DeviceDriver[] = [
  { name: 'meter1', driver: 'fake', identity, capabilities: ['meter'], readAll: async () => [], meter: { readMeter: async () => ({ powerW: 500, importWh: null, exportWh: null, frequencyHz: 50, voltageV: 230 }) } },
  { name: 'pv1', driver: 'fake', identity, capabilities: ['pv'], readAll: async () => [], pv: { ratedW: 5000, readPv: async (): Promise<PvReading> => ({ powerW: 2000, energyWh: null, limitPct: 100, fault: false }), setPowerLimitPct: async (pct) => written('123.WMaxLimPct', pct), clearPowerLimit: async () => written('123.WMaxLim_Ena', 0) } },
  {
    name: 'bat1', driver: 'fake', identity, capabilities: ['battery'], readAll: async () => [],
    battery: { maxChargeW: 5000, maxDischargeW: 5000, capacityWh: 10_000, socMinPct: 0, socMaxPct: 100, readBattery: async (): Promise<BatteryReading> => ({ powerW: 0, socPct: 50, fault: false }), setPowerW: async (w: number) => written('704.WSet', w), releasePower: async () => written('704.WSetEna', 0) },
  },
]
const hourMs = 3_600_000
const startMs = Date.UTC(2026, 0, 5, 2) // 13:00 in Melbourne
const location = { latitudeDeg: -37.81, longitudeDeg: 144.96 }

/** Open-Meteo hourly JSON in GMT from the UTC midnight before `startMs`, 3 days. */
function response(change: (json: { latitude: number; hourly: { cloud_cover: (number | null)[] } }) => void = () => {}) {
  const first = Math.floor(startMs / 86_400_000) * 86_400_000
  const json = {
    latitude: location.latitudeDeg,
    longitude: location.longitudeDeg,
    utc_offset_seconds: 0,
    hourly: {
      time: Array.from({ length: 72 }, (_, i) => new Date(first + i * hourMs).toISOString().slice(0, 16)),
      shortwave_radiation: Array.from({ length: 72 }, () => 300),
      cloud_cover: Array.from({ length: 72 }, (): number | null => 50),
    },
  }
  change(json)
  return JSON.stringify(json)
}

let dir: string
let store: Store
afterEach(() => {
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

it('a weather file that turns partial, then is for another place, gone, malformed, stale, then good again', async () => {
  dir = mkdtempSync(join(tmpdir(), 'gridmesh-weather-'))
  store = createStore({ path: join(dir, 'g.db') })
  const file = join(dir, 'weather.json')
  let nowMs = startMs
  const write = (text: string | null, ageMs = 0) => {
    if (text === null) return rmSync(file, { force: true })
    writeFileSync(file, text)
    utimesSync(file, (nowMs - ageMs) / 1000, (nowMs - ageMs) / 1000)
  }
  const site = siteFileSchema.parse({
    name: 't',
    timezone: 'Australia/Melbourne',
    devices: ['meter1', 'pv1', 'bat1'].map((name) => ({ name, connection: { type: 'tcp', host: '127.0.0.1' } })),
    control: { location, pv: { tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 5.5 }, weather: { file } },
  })
  const solver = { plan: (input: Parameters<typeof planSchedule>[0], opts: Parameters<typeof planSchedule>[1]) => planSchedule(input, opts), close: async () => {} } as unknown as PlanWorker
  const controller = createSiteController({ site, drivers, store, now: () => nowMs, loadModel: null, solver })
  const weatherAlarms = () => store.listAlarms({ state: 'active' }).filter((a) => a.key.startsWith('weather:')).map((a) => ({ key: a.key, severity: a.severity, message: a.message }))
  const nextSlot = async (text: string | null, ageMs = 0) => {
    nowMs = Math.floor(nowMs / 900_000) * 900_000 + 900_000 + 1000
    write(text, ageMs)
    await controller.tick()
    await controller.runtime.planning()
    return controller.forecast()
  }

  let f = await nextSlot(response())
  expect(f.pv?.model).toBe('clear-sky-weather')
  expect(weatherAlarms()).toEqual([])

  f = await nextSlot(response((j) => (j.hourly.cloud_cover[20] = null)))
  expect(f.pv?.model).toBe('clear-sky-persistence')
  expect(weatherAlarms()).toEqual([{ key: 'weather:partial', severity: 'info', message: `weather ${file}: hourly.cloud_cover[20] (2026-01-05T20:00) is null, inside the plan's 2026-01-05T02:30Z to 2026-01-06T02:30Z; the PV forecast falls back to clear sky x measured clearness (persistence)` }])
  expect(f.pvMethod).toContain(`(weather not used: weather ${file}: hourly.cloud_cover[20]`)
  await nextSlot(response((j) => (j.hourly.cloud_cover[21] = null)))
  // Still partial: raised once, not again every slot.
  const partial = store.listAlarms({ state: 'active' }).find((a) => a.key === 'weather:partial')!
  expect(store.alarmEvents(0, partial.id).filter((e) => e.action === 'raise')).toHaveLength(1)

  f = await nextSlot(response((j) => (j.latitude = -33.87)))
  expect(weatherAlarms().map((a) => a.key)).toEqual(['weather:location'])
  expect(weatherAlarms()[0]!.message).toMatch(/the forecast is for -33\.87, 144\.96, 438 km from the site/)

  f = await nextSlot(null)
  expect(weatherAlarms().map((a) => a.key)).toEqual(['weather:missing'])
  expect(weatherAlarms()[0]!.message).toContain(`weather ${file}: cannot read: ENOENT`)
  expect(f.pv?.model).toBe('clear-sky-persistence')

  await nextSlot('{"error":true,"reason":"Cannot initialize WeatherVariable from invalid String value"}')
  expect(weatherAlarms().map((a) => a.key)).toEqual(['weather:malformed'])
  expect(weatherAlarms()[0]!.message).toContain(`weather ${file}: not Open-Meteo hourly JSON: latitude: `)

  await nextSlot(response(), 13 * hourMs)
  expect(weatherAlarms().map((a) => a.key)).toEqual(['weather:stale'])
  expect(weatherAlarms()[0]!.message).toContain('13.0 h before now')

  f = await nextSlot(response())
  expect(f.pv?.model).toBe('clear-sky-weather')
  expect(weatherAlarms()).toEqual([])
  // Every slot was planned, whatever the weather.
  expect(controller.runtime.planCount()).toBe(8)
  await controller.stop()
})
