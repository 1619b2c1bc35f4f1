import { describe, expect, it } from 'vitest'
import { cloudClearness } from './clouds.ts'
import { forecastClearness, forecastWeather } from './forecastWeather.ts'

const hourMs = 3_600_000
const melbourne = { latitudeDeg: -37.81, longitudeDeg: 144.96 }
const truthOfHour = (seed: number, endMs: number) => {
  let sum = 0
  for (let i = 0; i < 6; i++) sum += cloudClearness(endMs - hourMs + (i + 0.5) * (hourMs / 6), seed)
  return sum / 6
}

describe('forecastWeather: the simulated weather service', () => {
  it('is Open-Meteo hourly JSON: local time stamps from local midnight, one value per hour and variable', () => {
    const nowMs = Date.parse('2013-01-15T03:20:00Z') // 14:20 in Melbourne (UTC+11)
    const f = forecastWeather({ seed: 1, ...melbourne, nowMs, pastDays: 1, forecastDays: 2, timeZone: 'Australia/Melbourne' })
    expect(f.utc_offset_seconds).toBe(11 * 3600)
    expect(f.hourly.time).toHaveLength(72)
    expect(f.hourly.time[0]).toBe('2013-01-14T00:00')
    expect(f.hourly.time[71]).toBe('2013-01-16T23:00')
    expect(f.hourly.shortwave_radiation).toHaveLength(72)
    expect(f.hourly.cloud_cover).toHaveLength(72)
    // Midnight local has no sun, local noon in summer has plenty.
    expect(f.hourly.shortwave_radiation[24]).toBe(0)
    expect(f.hourly.shortwave_radiation[24 + 13]).toBeGreaterThan(150)
    for (const cc of f.hourly.cloud_cover) expect(cc).toBeGreaterThanOrEqual(0)
    for (const cc of f.hourly.cloud_cover) expect(cc).toBeLessThanOrEqual(100)
  })

  it('the same seed and time give the same forecast; another seed or issue hour another', () => {
    const nowMs = Date.parse('2013-02-03T01:10:00Z')
    const a = forecastWeather({ seed: 7, ...melbourne, nowMs })
    const b = forecastWeather({ seed: 7, ...melbourne, nowMs: nowMs + 20 * 60_000 }) // same issue hour
    expect(b.hourly).toEqual(a.hourly)
    expect(forecastWeather({ seed: 8, ...melbourne, nowMs }).hourly.shortwave_radiation).not.toEqual(a.hourly.shortwave_radiation)
    expect(forecastWeather({ seed: 7, ...melbourne, nowMs: nowMs + hourMs }).hourly.shortwave_radiation).not.toEqual(a.hourly.shortwave_radiation)
  })

  it('its clearness error grows with lead time and the past (analysis) is close to the truth', () => {
    // 60 days x 4 issues a day, seeds 1-3: mean absolute error of the hourly clearness by lead.
    const bins = new Map<string, { sum: number; n: number }>()
    const add = (bin: string, e: number) => {
      const b = bins.get(bin) ?? { sum: 0, n: 0 }
      b.sum += e
      b.n++
      bins.set(bin, b)
    }
    const binOf = (leadH: number) => (leadH < 0 ? 'past' : leadH < 3 ? '0-3 h' : leadH < 24 ? '3-24 h' : leadH < 48 ? '24-48 h' : '48-72 h')
    for (const seed of [1, 2, 3]) {
      for (let d = 0; d < 60; d++) {
        for (const h of [0, 6, 12, 18]) {
          const issuedAtMs = Date.parse('2013-01-01T00:00:00Z') + d * 86_400_000 + h * hourMs
          for (let lead = -6; lead < 72; lead += 1) {
            const endMs = issuedAtMs + (lead + 1) * hourMs
            add(binOf(lead + 0.5), Math.abs(forecastClearness(seed, issuedAtMs, endMs) - truthOfHour(seed, endMs)))
          }
        }
      }
    }
    const mae = Object.fromEntries([...bins].map(([k, v]) => [k, v.sum / v.n]))
    expect(mae.past!).toBeLessThan(0.03)
    expect(mae['0-3 h']!).toBeLessThan(mae['3-24 h']!)
    expect(mae['3-24 h']!).toBeLessThan(mae['24-48 h']!)
    expect(mae['24-48 h']!).toBeLessThan(mae['48-72 h']!)
    // Still a forecast: far better than guessing the mean clearness.
    expect(mae['0-3 h']!).toBeLessThan(0.08)
  })
})
