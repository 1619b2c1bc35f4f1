import { describe, expect, it } from 'vitest'
import { clearSkyPvPower } from '../forecast/clearSkyPvPower.ts'
import { createSiteLoadForecaster } from '../forecast/createSiteLoadForecaster.ts'
import { forecastPvPersistence } from '../forecast/forecastPvPersistence.ts'
import type { WeatherOutcome, WeatherSource } from '../forecast/weather/createWeatherSource.ts'
import { siteRuntimeDefaults } from './createSiteRuntime.ts'
import { createForecastPlanner, type PvArray } from './createForecastPlanner.ts'

const hourMs = 3_600_000
const slotMs = 900_000
const pvArray: PvArray = { latitudeDeg: -37.81, longitudeDeg: 144.96, tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 }
const fromMs = Date.parse('2013-01-14T13:00:00Z')
const history = Array.from({ length: 3 * 96 }, (_, i) => {
  const startMs = fromMs - 3 * 86_400_000 + i * slotMs
  return { startMs, loadW: 1000, pvW: clearSkyPvPower(pvArray, startMs + slotMs / 2).powerKw * 700, batteryW: 0 }
})
const overcast: WeatherOutcome = {
  ok: true,
  forecast: {
    source: 'test',
    ...pvArray,
    issuedAtMs: fromMs,
    hours: Array.from({ length: 4 * 24 }, (_, i) => ({ endMs: fromMs - 3 * 86_400_000 + (i + 1) * hourMs, ghiWPerM2: 0, cloudCoverPct: 100 })).map((h) => {
      let clear = 0
      for (let j = 0; j < 6; j++) clear += clearSkyPvPower(pvArray, h.endMs - hourMs + (j + 0.5) * (hourMs / 6)).globalWPerM2 / 6
      return { ...h, ghiWPerM2: clear * (h.endMs <= fromMs ? 0.8 : 0.25) }
    }),
  },
}
const sourceOf = (answer: () => Promise<WeatherOutcome>): WeatherSource => ({ describe: 'test', forecast: answer })
const planner = (weather: WeatherSource | null) =>
  createForecastPlanner({ forecaster: createSiteLoadForecaster({ timeZone: 'Australia/Melbourne' }), modelSource: () => null, pvArray, pv: siteRuntimeDefaults.pvForecast, horizonSlots: 96, weather })
const persistenceW = forecastPvPersistence({
  site: pvArray, fromMs, slotMs, slots: 96,
  history: { timesMs: history.map((h) => h.startMs + slotMs / 2), powerKw: history.map((h) => h.pvW / 1000) },
  persistenceMs: siteRuntimeDefaults.pvForecast.persistenceMs, climatologyQuantile: siteRuntimeDefaults.pvForecast.climatologyQuantile,
}).powerKw.map((kw) => kw * 1000)

describe('createForecastPlanner: PV from the weather source, or a fallback with its reason', () => {
  it('uses the weather forecast when the source answers', async () => {
    const f = await planner(sourceOf(async () => overcast)).forecast({ fromMs, slotMs, history })
    expect(f).toMatchObject({ pvModel: 'clear-sky-weather', weather: { state: 'used' } })
    expect(f.pvMethod).toContain('x calibration 0.88')
    // The weather says a dull day where persistence carries the bright ones on.
    expect(Math.max(...f.pvW)).toBeLessThan(0.5 * Math.max(...persistenceW))
  })

  it.each([
    ['malformed', 'weather test: not Open-Meteo hourly JSON: hourly: expected object'],
    ['stale', 'weather test: issued 2013-01-13T00:00Z, 37.0 h before now'],
    ['location', 'weather test: the forecast is for -33.87, 151.21, 713 km from the site'],
    ['partial', 'weather test: hourly.cloud_cover[30] is null'],
    ['missing', 'weather test: cannot fetch: no answer within 5000 ms'],
  ] as const)('%s: falls back to persistence, exactly, and says why', async (problem, reason) => {
    const f = await planner(sourceOf(async () => ({ ok: false, problem, reason }))).forecast({ fromMs, slotMs, history })
    expect(f).toMatchObject({ pvModel: 'clear-sky-persistence', weather: { state: 'fallback', problem, reason } })
    expect(f.pvMethod).toBe(`clear sky x measured clearness (persistence) (weather not used: ${reason})`)
    expect(f.pvW).toEqual(persistenceW)
  })

  it('a source that throws is a fallback too: the plan never fails for the weather', async () => {
    const f = await planner(sourceOf(() => Promise.reject(new Error('socket hang up')))).forecast({ fromMs, slotMs, history })
    expect(f).toMatchObject({ pvModel: 'clear-sky-persistence', weather: { state: 'fallback', problem: 'missing', reason: 'weather test: socket hang up' } })
    expect(f.pvW).toEqual(persistenceW)
  })

  it('a forecast the PV model cannot use (a source that skipped the checks) is a fallback too', async () => {
    const { forecast } = overcast as Extract<WeatherOutcome, { ok: true }>
    const broken: WeatherOutcome = { ok: true, forecast: { ...forecast, hours: forecast.hours.map((h) => ({ ...h, ghiWPerM2: Number.NaN })) } }
    const f = await planner(sourceOf(async () => broken)).forecast({ fromMs, slotMs, history })
    expect(f).toMatchObject({ pvModel: 'clear-sky-persistence', weather: { state: 'fallback', problem: 'malformed', reason: 'weather test: no PV forecast from it: the PV forecast has non-finite values' } })
    expect(f.pvW).toEqual(persistenceW)
  })

  it('plans PV on the mean of the issues of the last weatherIssuesMs, so one issue\'s error moves it by its share only', async () => {
    // Issues an hour apart: two that say 0.25 of clear sky ahead, then one that says 0.75.
    const at = (issuedAtMs: number, ahead: number): WeatherOutcome => ({ ok: true, forecast: { ...overcast.forecast, issuedAtMs, hours: overcast.forecast.hours.map((h) => ({ ...h, ghiWPerM2: h.endMs <= fromMs ? h.ghiWPerM2 : (h.ghiWPerM2 / 0.25) * ahead })) } })
    const answers = [at(fromMs - 2 * hourMs, 0.25), at(fromMs - hourMs, 0.25), at(fromMs, 0.75)]
    const run = async (issuesMs: number) => {
      const queue = [...answers]
      const p = createForecastPlanner({ forecaster: createSiteLoadForecaster({ timeZone: 'Australia/Melbourne' }), modelSource: () => null, pvArray, pv: siteRuntimeDefaults.pvForecast, horizonSlots: 96, weather: sourceOf(async () => queue.shift()!), weatherIssuesMs: issuesMs })
      let f = await p.forecast({ fromMs, slotMs, history })
      for (let i = 1; i < answers.length; i++) f = await p.forecast({ fromMs, slotMs, history })
      return f
    }
    const newestAlone = await run(0)
    const lastTwo = await run(hourMs)
    const all = await run(6 * hourMs)
    const noon = newestAlone.pvW.indexOf(Math.max(...newestAlone.pvW))
    // Clear sky x clearness is linear in the clearness: (0.75 + 0.25) / 2 and (0.75 + 2 x 0.25) / 3 of the newest's 0.75.
    expect(lastTwo.pvW[noon]! / newestAlone.pvW[noon]!).toBeCloseTo(0.5 / 0.75, 2)
    expect(all.pvW[noon]! / newestAlone.pvW[noon]!).toBeCloseTo((1.25 / 3) / 0.75, 2)
    expect(all.pvMethod).toContain('the weather is the mean of its last 3 issues (within 6 h)')
    expect(newestAlone.pvMethod).not.toContain('mean of its last')
  })

  it('without a source it is today\'s planner, synchronous', () => {
    const f = planner(null).forecast({ fromMs, slotMs, history })
    expect(f).not.toBeInstanceOf(Promise)
    expect(f).toMatchObject({ pvModel: 'clear-sky-persistence', weather: { state: 'none' }, pvW: persistenceW })
  })
})

describe('createForecastPlanner: PV P10/P90 next to the P50', () => {
  it('starts on the prior and calibrates on its own forecasts against the production measured since', () => {
    const p = planner(null)
    const first = p.forecast({ fromMs, slotMs, history }) as Exclude<ReturnType<typeof p.forecast>, Promise<unknown>>
    expect(first.pvQuantileSource).toBe('prior (fewer than 100 daylight residuals per lead block)')
    expect(first.pvP10W).toHaveLength(96)
    first.pvW.forEach((w, i) => {
      expect(first.pvP10W![i]!).toBeLessThanOrEqual(w)
      expect(first.pvP90W![i]!).toBeGreaterThanOrEqual(w)
    })
    expect(Math.max(...first.pvP90W!.map((w, i) => w - first.pvP10W![i]!))).toBeGreaterThan(500)
    // Two more days, planned every hour, the sky as measured before (clear x 0.7).
    const measured = (startMs: number) => ({ startMs, loadW: 1000, pvW: clearSkyPvPower(pvArray, startMs + slotMs / 2).powerKw * 700 })
    let last = first
    for (let h = 1; h <= 48; h++) {
      const at = fromMs + h * hourMs
      const past = [...history, ...Array.from({ length: 4 * h }, (_, i) => measured(fromMs + i * slotMs))]
      last = p.forecast({ fromMs: at, slotMs, history: past }) as typeof first
    }
    expect(last.pvQuantileSource).toMatch(/^site residuals: \d+ daylight slots; prior for leads 24 h\+$/)
  })
})

describe('createForecastPlanner: load P10/P90', () => {
  const banded = { forecast: () => ({ loadW: [1000, 1100], method: 'model' as const, loadP10W: [900, 950], loadP90W: [1200, 1300], quantileSource: 'test calibration' }), setModel: () => undefined }
  const make = (oracle: { truth: Map<number, { loadW: number; pvW: number }>; load: boolean; pv: boolean } | null) =>
    createForecastPlanner({ forecaster: banded, modelSource: () => 'm', pvArray: null, pv: siteRuntimeDefaults.pvForecast, horizonSlots: 2, oracle }).forecast({ fromMs, slotMs, history }) as { loadP10W?: number[]; loadP90W?: number[]; loadQuantileSource?: string }

  it('passes the load forecaster\'s P10, P90 and their source on with the plan\'s forecast', () => {
    expect(make(null)).toMatchObject({ loadP10W: [900, 950], loadP90W: [1200, 1300], loadQuantileSource: 'test calibration' })
  })

  it('drops them when the load is the truth (perfect foresight has no spread)', () => {
    const f = make({ truth: new Map(), load: true, pv: false })
    expect(f.loadP10W).toBeUndefined()
    expect(f.loadP90W).toBeUndefined()
    expect(f.loadQuantileSource).toBeUndefined()
  })
})
