// PV forecast bench (issue 16): day-ahead error of the PV forecast with the weather source
// against without it, on the simulator's own sky and the forecast its weather endpoint serves.
// For each seed and period, the demo site's PV is computed from the simulator's physics
// (sun, clouds, plane of array, inverter) as slot means; forecasts are issued through the
// whole path the site runs: the endpoint's Open-Meteo JSON -> parseOpenMeteoForecast ->
// forecastPvWithWeather, against the forecasts without weather (forecastPvPersistence as
// serve runs it, and its best-MAE settings; the older clear sky x 3-day ratio).
// Metrics (W, mean absolute error over all slots, nights included):
// - dayAhead: issued at 12:00 local, scored on the next local day (12-36 h ahead);
// - next24h: issued every 3 h, scored over the planner's 96-slot horizon.
// Usage: node bin/run-ts.js bench/pv-forecast.bench.ts [--seeds 1,2,3] [--days 45]
// The last stdout line is the JSON result bench/run.ts collects.
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { siteRuntimeDefaults } from '../core/control/createSiteRuntime.ts'
import { clearSkyPvPower } from '../core/forecast/clearSkyPvPower.ts'
import { forecastPv } from '../core/forecast/forecastPv.ts'
import { forecastPvPersistence } from '../core/forecast/forecastPvPersistence.ts'
import { applyPvQuantiles } from '../core/forecast/weather/applyPvQuantiles.ts'
import { calibratePvQuantiles, pvLeadBlocksMs } from '../core/forecast/weather/calibratePvQuantiles.ts'
import { createPvResidualLog } from '../core/forecast/weather/createPvResidualLog.ts'
import { forecastPvWithWeather } from '../core/forecast/weather/forecastPvWithWeather.ts'
import { parseOpenMeteoForecast } from '../core/forecast/weather/parseOpenMeteoForecast.ts'
import { cloudClearness } from '../hardware-sims/physics/clouds.ts'
import { forecastWeather } from '../hardware-sims/physics/forecastWeather.ts'
import { inverterAvailableW } from '../hardware-sims/physics/sitePhysics.ts'
import { planeOfArrayIrradiance, sunPosition } from '../hardware-sims/physics/solar.ts'
import { zoneOffsetMs } from '../hardware-sims/physics/zoneOffset.ts'
import { loadSite } from '../hardware-sims/site/loadSite.ts'
import type { InverterConfig } from '../hardware-sims/site/siteSchema.ts'

const { values: flags } = parseArgs({ options: { seeds: { type: 'string', default: '1,2,3' }, days: { type: 'string', default: '45' } } })
const seeds = flags.seeds.split(',').map(Number)
const days = Number(flags.days)
const periods = [
  { name: 'summer', fromIso: '2013-01-01T00:00:00Z' },
  { name: 'winter', fromIso: '2013-06-01T00:00:00Z' },
]
const hourMs = 3_600_000
const dayMs = 86_400_000
const slotMs = siteRuntimeDefaults.slotMs
const horizonSlots = siteRuntimeDefaults.horizonSlots
const historyDays = 7

const site = loadSite(fileURLToPath(new URL('../hardware-sims/sites/demo.yaml', import.meta.url)))
const inverter = site.devices.find((d): d is InverterConfig => d.kind === 'inverter')!
const { latitudeDeg, longitudeDeg, timezone } = site.location
// The PV array as the controller's site file describes the simulated one (core/simulator/simulatorSiteFile.ts).
const pvArray = { latitudeDeg, longitudeDeg, tiltDeg: inverter.tiltDeg, azimuthDeg: inverter.azimuthDeg, peakPowerKw: (inverter.ratedW * inverter.dcAcRatio) / 1000 }

/** The simulated inverter's mean output (kW) over each slot, from one-minute samples of the simulator's physics. */
function truthSlots(seed: number, fromMs: number, slots: number): Float64Array {
  const out = new Float64Array(slots)
  for (let k = 0; k < slots; k++) {
    let sum = 0
    for (let m = 0; m < 15; m++) {
      const t = fromMs + k * slotMs + (m + 0.5) * 60_000
      const poa = planeOfArrayIrradiance({ sun: sunPosition(t, latitudeDeg, longitudeDeg), tiltDeg: inverter.tiltDeg, azimuthDeg: inverter.azimuthDeg, clearness: cloudClearness(t, seed) })
      sum += inverterAvailableW(inverter, poa)
    }
    out[k] = sum / 15 / 1000
  }
  return out
}

type Method = 'weather' | 'weatherNoNowcast' | 'persistenceServe' | 'persistence48h' | 'clearSkyScaled'
const methods: Method[] = ['weather', 'weatherNoNowcast', 'persistenceServe', 'persistence48h', 'clearSkyScaled']
type Tally = Record<Method, { sum: number; n: number }>
const tally = (): Tally => Object.fromEntries(methods.map((m) => [m, { sum: 0, n: 0 }])) as Tally
const mean = (t: Tally) => Object.fromEntries(methods.map((m) => [m, Math.round(t[m].sum / t[m].n)])) as Record<Method, number>

function forecasts(seed: number, truth: Float64Array, truthFromMs: number, issueMs: number, slots: number): Record<Method, number[]> {
  const first = Math.round((issueMs - historyDays * dayMs - truthFromMs) / slotMs)
  const last = Math.round((issueMs - truthFromMs) / slotMs)
  const timesMs: number[] = []
  const powerKw: number[] = []
  for (let i = first; i < last; i++) {
    timesMs.push(truthFromMs + i * slotMs + slotMs / 2)
    powerKw.push(truth[i]!)
  }
  const history = { timesMs, powerKw }
  // The whole path: the endpoint's JSON text, parsed and checked as a site parses it.
  const json = JSON.parse(JSON.stringify(forecastWeather({ seed, latitudeDeg, longitudeDeg, nowMs: issueMs, pastDays: 3, forecastDays: 3, timeZone: timezone })))
  const weather = parseOpenMeteoForecast(json, { source: 'simulator', issuedAtMs: issueMs, site: pvArray, nowMs: issueMs, fromMs: issueMs, toMs: issueMs + slots * slotMs })
  const common = { site: pvArray, fromMs: issueMs, slotMs, slots, history }
  return {
    weather: forecastPvWithWeather({ ...common, weather }).powerKw,
    weatherNoNowcast: forecastPvWithWeather({ ...common, weather, nowcastMs: 0 }).powerKw,
    persistenceServe: forecastPvPersistence({ ...common, persistenceMs: siteRuntimeDefaults.pvForecast.persistenceMs, climatologyQuantile: siteRuntimeDefaults.pvForecast.climatologyQuantile }).powerKw,
    persistence48h: forecastPvPersistence({ ...common, persistenceMs: 48 * hourMs }).powerKw,
    clearSkyScaled: forecastPv(common).forecast.map((f) => f.powerKw),
  }
}

// P10-P90 coverage of the weather forecast's bands, per lead block, on days after the first
// `quantileWarmupDays` of each run: each issue's quantiles come only from residuals of earlier
// issues against production measured before it (rolling origin; the day scored is never in its own calibration).
const quantileWarmupDays = 14
const blockNames = ['0-3 h', '3-12 h', '12-24 h', '24 h+']
const coverage = blockNames.map(() => ({ inside: 0, below: 0, n: 0, widthKw: 0 }))
const started = performance.now()
const dayAhead = tally()
const next24h = tally()
const byRun: Record<string, { dayAheadMaeW: Record<Method, number>; next24hMaeW: Record<Method, number>; weatherP10P90CoveragePct: number }> = {}
for (const seed of seeds) {
  for (const period of periods) {
    process.stderr.write(`pv-forecast: seed ${seed}, ${period.name} (${days} days from ${period.fromIso})\n`)
    const fromMs = Date.parse(period.fromIso)
    const truthFromMs = fromMs - (historyDays + 1) * dayMs
    const truth = truthSlots(seed, truthFromMs, (days + historyDays + 3) * 96)
    const runDayAhead = tally()
    const runNext24h = tally()
    const log = createPvResidualLog({ everyMs: 3 * hourMs })
    const runCoverage = { inside: 0, n: 0 }
    for (let d = 0; d < days; d++) {
      // Day-ahead: issued at local noon, scored on the next local day.
      const localNoonMs = (() => {
        const guess = fromMs + d * dayMs + 12 * hourMs
        const offset = zoneOffsetMs(guess, timezone)
        return Math.floor((guess + offset) / dayMs) * dayMs + 12 * hourMs - offset
      })()
      const ahead = forecasts(seed, truth, truthFromMs, localNoonMs, 36 * 4)
      for (const m of methods) {
        for (let k = 48; k < 144; k++) {
          const e = Math.abs(ahead[m][k]! - truth[Math.round((localNoonMs - truthFromMs) / slotMs) + k]!) * 1000
          for (const t of [dayAhead, runDayAhead]) {
            t[m].sum += e
            t[m].n++
          }
        }
      }
      // The planner's view: every 3 hours, the next 96 slots.
      for (let h = 0; h < 24; h += 3) {
        const issueMs = fromMs + d * dayMs + h * hourMs
        const f = forecasts(seed, truth, truthFromMs, issueMs, horizonSlots)
        const base = Math.round((issueMs - truthFromMs) / slotMs)
        const clearSkyKw = Array.from({ length: horizonSlots }, (_, k) => clearSkyPvPower(pvArray, issueMs + k * slotMs + slotMs / 2).powerKw)
        const measuredBefore = (startMs: number) => (startMs + slotMs <= issueMs ? truth[Math.round((startMs - truthFromMs) / slotMs)] : undefined)
        const minClearKw = 0.1 * pvArray.peakPowerKw
        if (d >= quantileWarmupDays) {
          const table = calibratePvQuantiles(log.residuals(measuredBefore, minClearKw))
          const leadMs = Array.from({ length: horizonSlots }, (_, k) => k * slotMs)
          const band = applyPvQuantiles({ table, powerKw: f.weather, clearSkyKw, leadMs, peakPowerKw: pvArray.peakPowerKw })
          for (let k = 0; k < horizonSlots; k++) {
            if (clearSkyKw[k]! < minClearKw) continue
            const c = coverage[pvLeadBlocksMs.findIndex((b) => k * slotMs < b)]!
            const actual = truth[base + k]!
            c.n++
            runCoverage.n++
            c.widthKw += band.p90Kw[k]! - band.p10Kw[k]!
            if (actual < band.p10Kw[k]!) c.below++
            else if (actual <= band.p90Kw[k]!) {
              c.inside++
              runCoverage.inside++
            }
          }
        }
        log.record({ fromMs: issueMs, slotMs, powerKw: f.weather, clearSkyKw })
        for (const m of methods) {
          for (let k = 0; k < horizonSlots; k++) {
            const e = Math.abs(f[m][k]! - truth[base + k]!) * 1000
            for (const t of [next24h, runNext24h]) {
              t[m].sum += e
              t[m].n++
            }
          }
        }
      }
    }
    byRun[`seed${seed}-${period.name}`] = { dayAheadMaeW: mean(runDayAhead), next24hMaeW: mean(runNext24h), weatherP10P90CoveragePct: Math.round((runCoverage.inside / runCoverage.n) * 1000) / 10 }
  }
}

const dayAheadMaeW = mean(dayAhead)
const next24hMaeW = mean(next24h)
const results = {
  seeds,
  periods: periods.map((p) => `${p.name}: ${days} days from ${p.fromIso}`),
  site: { pvPeakKw: pvArray.peakPowerKw, ratedKw: inverter.ratedW / 1000, location: `${latitudeDeg}, ${longitudeDeg}` },
  dayAheadMaeW,
  next24hMaeW,
  weatherP10P90: {
    method: `split-conformal residual quantiles by lead block from the last 14 days of the run's own forecasts (issued every 3 h); scored after day ${quantileWarmupDays} of each run, daylight slots`,
    coveragePct: Object.fromEntries(blockNames.map((name, i) => [name, Math.round((coverage[i]!.inside / coverage[i]!.n) * 1000) / 10])),
    belowP10Pct: Object.fromEntries(blockNames.map((name, i) => [name, Math.round((coverage[i]!.below / coverage[i]!.n) * 1000) / 10])),
    meanWidthKw: Object.fromEntries(blockNames.map((name, i) => [name, Math.round((coverage[i]!.widthKw / coverage[i]!.n) * 100) / 100])),
    overallCoveragePct: Math.round((coverage.reduce((s, c) => s + c.inside, 0) / coverage.reduce((s, c) => s + c.n, 0)) * 1000) / 10,
  },
  byRun,
  wallS: Math.round((performance.now() - started) / 100) / 10,
}
const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000
const ratios = {
  dayAheadWeatherOverPersistenceServe: ratio(dayAheadMaeW.weather, dayAheadMaeW.persistenceServe),
  dayAheadWeatherOverPersistence48h: ratio(dayAheadMaeW.weather, dayAheadMaeW.persistence48h),
  next24hWeatherOverPersistenceServe: ratio(next24hMaeW.weather, next24hMaeW.persistenceServe),
  next24hWeatherOverPersistence48h: ratio(next24hMaeW.weather, next24hMaeW.persistence48h),
  worstRunDayAheadWeatherOverPersistence48h: Math.max(...Object.values(byRun).map((r) => ratio(r.dayAheadMaeW.weather, r.dayAheadMaeW.persistence48h))),
}
const targets = { weatherP10P90CoveragePct: '70 to 90 in every lead block', dayAheadWeatherOverPersistence48h: '< 1 (the weather source lowers the day-ahead PV error)', worstRunDayAheadWeatherOverPersistence48h: '< 1 in every seed and season' }
process.stdout.write(`${JSON.stringify({ bench: 'pv-forecast', results, ratios, targets })}\n`)
