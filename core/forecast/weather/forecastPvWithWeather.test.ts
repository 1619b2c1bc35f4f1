import { describe, expect, it } from 'vitest'
import { clearSkyPvPower } from '../clearSkyPvPower.ts'
import { forecastPvPersistence } from '../forecastPvPersistence.ts'
import { forecastPvWithWeather } from './forecastPvWithWeather.ts'
import type { WeatherForecast } from './parseOpenMeteoForecast.ts'

const hourMs = 3_600_000
const slotMs = 900_000
const site = { latitudeDeg: -37.81, longitudeDeg: 144.96, tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 }
// Local midnight in Melbourne; the plan starts then and runs a day.
const fromMs = Date.parse('2013-01-14T13:00:00Z')
/** The sky: three clear days, then an overcast one (the day planned). */
const clearness = (t: number) => (t < fromMs ? 0.95 : 0.3)
/** The array gives 80 % of what the clear-sky model says (shading, soiling): the calibration must find it. */
const truthKw = (t: number) => clearSkyPvPower(site, t).powerKw * clearness(t) * 0.8

function weather(forecastClearness: (t: number) => number): WeatherForecast {
  const hours = Array.from({ length: 4 * 24 }, (_, i) => {
    const endMs = fromMs - 3 * 86_400_000 + (i + 1) * hourMs
    let clear = 0
    for (let j = 0; j < 6; j++) clear += clearSkyPvPower(site, endMs - hourMs + (j + 0.5) * (hourMs / 6)).globalWPerM2 / 6
    return { endMs, ghiWPerM2: clear * forecastClearness(endMs - hourMs / 2), cloudCoverPct: 50 }
  })
  return { source: 'test', latitudeDeg: site.latitudeDeg, longitudeDeg: site.longitudeDeg, issuedAtMs: fromMs, hours }
}
const history = (() => {
  const timesMs: number[] = []
  const powerKw: number[] = []
  for (let t = fromMs - 3 * 86_400_000; t < fromMs; t += slotMs) {
    timesMs.push(t + slotMs / 2)
    powerKw.push(truthKw(t + slotMs / 2))
  }
  return { timesMs, powerKw }
})()
const mae = (a: number[], b: number[]) => a.reduce((s, x, i) => s + Math.abs(x - b[i]!), 0) / a.length
const truth = Array.from({ length: 96 }, (_, k) => truthKw(fromMs + k * slotMs + slotMs / 2))

describe('forecastPvWithWeather', () => {
  it('learns the array\'s calibration from measured production against the weather of the same past hours', () => {
    const f = forecastPvWithWeather({ site, fromMs, slotMs, slots: 96, weather: weather(clearness), history })
    expect(f.calibration).toBeCloseTo(0.8, 2)
    expect(f.calibrationSamples).toBeGreaterThan(100)
    expect(f.method).toContain('calibration 0.80')
    // A perfect weather forecast gives the truth, within the hourly averaging of the clearness.
    expect(mae(f.powerKw, truth)).toBeLessThan(0.02 * site.peakPowerKw)
  })

  it('sees the overcast day coming that persistence of three clear days cannot', () => {
    const f = forecastPvWithWeather({ site, fromMs, slotMs, slots: 96, weather: weather(clearness), history })
    const persistence = forecastPvPersistence({ site, fromMs, slotMs, slots: 96, history }).powerKw
    expect(mae(f.powerKw, truth)).toBeLessThan(mae(persistence, truth) / 5)
  })

  it('without measured history it trusts the clear-sky model (calibration 1) and says so', () => {
    const f = forecastPvWithWeather({ site, fromMs, slotMs, slots: 96, weather: weather(clearness), history: { timesMs: [], powerKw: [] } })
    expect(f.calibration).toBe(1)
    expect(f.method).toContain('no calibration')
    const noon = 52 // 13:00 local
    expect(f.powerKw[noon]).toBeCloseTo(clearSkyPvPower(site, fromMs + noon * slotMs + slotMs / 2).powerKw * 0.3, 0)
  })

  it('the last hour\'s departure from the forecast carries into the next hours and fades', () => {
    // Issued at 12:00 local on the third clear day, but the forecast says 0.5 where the sky is 0.95.
    const at = fromMs - 12 * hourMs
    const past = { timesMs: history.timesMs.filter((t) => t < at), powerKw: history.powerKw.filter((_, i) => history.timesMs[i]! < at) }
    const wrong = weather((t) => (t < at - hourMs ? 0.95 : 0.5))
    const f = forecastPvWithWeather({ site, fromMs: at, slotMs, slots: 24, weather: wrong, history: past })
    expect(f.nowcast).toBeGreaterThan(1.5)
    const plain = forecastPvWithWeather({ site, fromMs: at, slotMs, slots: 24, weather: wrong, history: past, nowcastMs: 0 })
    expect(f.powerKw[0]! / plain.powerKw[0]!).toBeGreaterThan(1.5)
    expect(f.powerKw[20]! / plain.powerKw[20]!).toBeLessThan(1.15)
  })
})
