import { clearSkyPvPower, type PvSite } from '../clearSkyPvPower.ts'
import { daylightPvSamples } from '../daylightPvSamples.ts'
import type { WeatherForecast } from './parseOpenMeteoForecast.ts'

const hourMs = 3_600_000
const dayMs = 86_400_000

export type ForecastPvWithWeatherParameters = {
  site: PvSite
  fromMs: number
  slotMs: number
  slots: number
  weather: WeatherForecast
  /** Measured production: slot averages (kW) stamped at their slots' midpoints, before `fromMs`. */
  history: { timesMs: ArrayLike<number>; powerKw: ArrayLike<number> }
  /** Days of measured production against the weather's past hours that set the calibration (default 3). */
  calibrationDays?: number | undefined
  /** E-folding time of the last measured hour's departure from the weather forecast (default 2 h; 0: none). */
  nowcastMs?: number | undefined
}

export type ForecastPvWithWeatherResult = {
  powerKw: number[]
  /** Each slot's clearness from the forecast's GHI over the clear-sky GHI (1 where the sun is too low to tell). */
  clearness: number[]
  /** Measured / (clear-sky x forecast clearness) over the calibration window's daylight samples (1 without any). */
  calibration: number
  calibrationSamples: number
  /** The last daylight hour's measured / forecast, before it fades (1 without one). */
  nowcast: number
  /** How the forecast was made, in words. */
  method: string
}

/**
 * PV from a weather forecast: clear-sky power at each slot times the forecast's clearness
 * (its hourly GHI over the clear-sky GHI of that hour) times a calibration learned from
 * measured production against the weather of the same past hours (the array's shading,
 * soiling and ratings the clear-sky model does not know), with the last measured hour's
 * departure from the forecast fading out over `nowcastMs`.
 */
export function forecastPvWithWeather(p: ForecastPvWithWeatherParameters): ForecastPvWithWeatherResult {
  const { site, fromMs, slotMs, slots, weather, history } = p
  const calibrationMs = (p.calibrationDays ?? 3) * dayMs
  const nowcastMs = p.nowcastMs ?? 2 * hourMs
  const first = weather.hours[0]
  const phaseMs = first ? ((first.endMs % hourMs) + hourMs) % hourMs : 0
  const ghiByEnd = new Map(weather.hours.map((h) => [h.endMs, h.ghiWPerM2]))
  const clearnessCache = new Map<number, number | null>()
  /** Forecast clearness of the hour holding `t`; null where the weather has no such hour or the sun is too low to tell. */
  const clearnessAt = (t: number): number | null => {
    const endMs = Math.floor((t - phaseMs) / hourMs) * hourMs + phaseMs + hourMs
    const known = clearnessCache.get(endMs)
    if (known !== undefined) return known
    const ghi = ghiByEnd.get(endMs)
    let value: number | null = null
    if (ghi !== undefined) {
      let clear = 0
      for (let i = 0; i < 6; i++) clear += clearSkyPvPower(site, endMs - hourMs + (i + 0.5) * (hourMs / 6)).globalWPerM2 / 6
      // Below ~30 W/m² the hour is mostly dawn or dusk: the ratio is noise.
      value = clear > 30 ? Math.min(1.2, Math.max(0, ghi / clear)) : null
    }
    clearnessCache.set(endMs, value)
    return value
  }

  const samples = daylightPvSamples(site, history, fromMs, calibrationMs).flatMap((x) => {
    const k = clearnessAt(x.t)
    return k === null ? [] : [{ t: x.t, measured: x.measured, expected: x.clear * k }]
  })
  const sum = (xs: typeof samples, f: (x: (typeof samples)[number]) => number) => xs.reduce((s, x) => s + f(x), 0)
  const expectedTotal = sum(samples, (x) => x.expected)
  const enough = samples.length >= 8 && expectedTotal > 0
  const calibration = enough ? Math.min(1.5, Math.max(0.3, sum(samples, (x) => x.measured) / expectedTotal)) : 1
  const recent = samples.filter((x) => x.t >= fromMs - hourMs)
  const recentExpected = sum(recent, (x) => x.expected) * calibration
  const nowcast = nowcastMs > 0 && recent.length > 0 && recentExpected > 0.02 * site.peakPowerKw ? Math.min(3, Math.max(0.2, sum(recent, (x) => x.measured) / recentExpected)) : 1
  const lastMs = recent.length > 0 ? recent[recent.length - 1]!.t : fromMs

  const clearness: number[] = []
  const powerKw = Array.from({ length: slots }, (_, k) => {
    const mid = fromMs + k * slotMs + slotMs / 2
    const kWeather = clearnessAt(mid) ?? 1
    clearness.push(kWeather)
    const fade = nowcastMs > 0 ? Math.exp(-(mid - lastMs) / nowcastMs) : 0
    const correction = 1 + (nowcast - 1) * fade
    return Math.min(site.peakPowerKw, clearSkyPvPower(site, mid).powerKw * kWeather * calibration * correction)
  })
  const method =
    `clear sky x forecast clearness (${weather.source}, issued ${new Date(weather.issuedAtMs).toISOString()})` +
    (enough ? ` x calibration ${calibration.toFixed(2)} from ${samples.length} measured daylight samples` : ' (no calibration: fewer than 8 measured daylight samples under the forecast\'s past hours)') +
    (nowcast !== 1 ? `, last hour's ratio ${nowcast.toFixed(2)} fading over ${nowcastMs / hourMs} h` : '')
  return { powerKw, clearness, calibration, calibrationSamples: samples.length, nowcast, method }
}
