import { describe, expect, it } from 'vitest'
import { clearSkyPvPower } from './clearSkyPvPower.ts'
import { forecastPvPersistence } from './forecastPvPersistence.ts'

const melbourne = { latitudeDeg: -37.81, longitudeDeg: 144.96, tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 }
const slotMs = 900_000
const hourMs = 3_600_000

describe('forecastPvPersistence', () => {
  // A week at 90 % of clear sky, then a last day at 40 %: issued in the afternoon of that day.
  const fromMs = Date.parse('2013-01-20T04:00:00Z') // 15:00 in Melbourne
  const timesMs = Array.from({ length: 7 * 96 }, (_, i) => fromMs - 7 * 86_400_000 + i * slotMs + slotMs / 2)
  const powerKw = timesMs.map((t) => (fromMs - t < 6 * hourMs ? 0.4 : 0.9) * clearSkyPvPower(melbourne, t).powerKw)

  it('starts at the current clearness and relaxes to the week\'s', () => {
    const r = forecastPvPersistence({ site: melbourne, fromMs, slotMs, slots: 96, history: { timesMs, powerKw } })
    expect(r.current).toBeCloseTo(0.4, 5)
    expect(r.climatology).toBeGreaterThan(0.8)
    expect(r.climatology).toBeLessThan(0.9)
    const ratioAt = (k: number) => r.powerKw[k]! / clearSkyPvPower(melbourne, fromMs + k * slotMs + slotMs / 2).powerKw
    expect(ratioAt(0)).toBeCloseTo(0.4, 1)
    // Next morning (18 h on): mostly the week's clearness.
    expect(ratioAt(72)).toBeGreaterThan(0.75)
    // A short persistence forgets the current hour sooner.
    const short = forecastPvPersistence({ site: melbourne, fromMs, slotMs, slots: 96, history: { timesMs, powerKw }, persistenceMs: hourMs })
    expect(short.powerKw[8]!).toBeGreaterThan(r.powerKw[8]!)
  })

  it('takes the long-run clearness as a quantile of the hourly ratios when asked', () => {
    // Alternate days at 30 % and 100 %: the mean sits between, a high quantile near the top.
    const days = timesMs.map((t) => Math.floor((t - timesMs[0]!) / 86_400_000))
    const mixed = timesMs.map((t, i) => (days[i]! % 2 ? 1 : 0.3) * clearSkyPvPower(melbourne, t).powerKw)
    const mean = forecastPvPersistence({ site: melbourne, fromMs, slotMs, slots: 4, history: { timesMs, powerKw: mixed } })
    const high = forecastPvPersistence({ site: melbourne, fromMs, slotMs, slots: 4, history: { timesMs, powerKw: mixed }, climatologyQuantile: 0.67 })
    expect(mean.climatology).toBeGreaterThan(0.4)
    expect(mean.climatology).toBeLessThan(0.9)
    expect(high.climatology).toBeCloseTo(1, 5)
  })

  it('is clear sky without daylight history, zero at night, never negative', () => {
    const r = forecastPvPersistence({ site: melbourne, fromMs, slotMs, slots: 96, history: { timesMs: [], powerKw: [] } })
    expect(r.climatology).toBe(1)
    expect(r.powerKw[0]).toBeCloseTo(clearSkyPvPower(melbourne, fromMs + slotMs / 2).powerKw, 6)
    expect(Math.min(...r.powerKw)).toBe(0)
  })
})
