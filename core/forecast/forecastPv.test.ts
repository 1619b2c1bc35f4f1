import { describe, expect, it } from 'vitest'
import { clearSkyPvPower } from './clearSkyPvPower.ts'
import { forecastPv } from './forecastPv.ts'

const berlin = { latitudeDeg: 52.5, longitudeDeg: 13.4, tiltDeg: 30, azimuthDeg: 180, peakPowerKw: 10 }

describe('clearSkyPvPower', () => {
  it('is zero at night and below peak power at a summer noon', () => {
    expect(clearSkyPvPower(berlin, Date.parse('2024-06-21T23:00:00Z')).powerKw).toBe(0)
    const noon = clearSkyPvPower(berlin, Date.parse('2024-06-21T11:00:00Z')).powerKw
    expect(noon).toBeGreaterThan(6)
    expect(noon).toBeLessThanOrEqual(10)
  })

  it('favours a south-facing array over a north-facing one at noon in the northern winter', () => {
    const t = Date.parse('2024-12-21T11:00:00Z')
    expect(clearSkyPvPower(berlin, t).powerKw).toBeGreaterThan(2 * clearSkyPvPower({ ...berlin, azimuthDeg: 0 }, t).powerKw)
  })
})

describe('forecastPv', () => {
  it('scales clear sky by recent measured production', () => {
    const fromMs = Date.parse('2024-06-21T00:00:00Z')
    const timesMs = Array.from({ length: 72 * 4 }, (_, i) => fromMs - 72 * 3_600_000 + i * 900_000)
    // A site that has been producing 60 % of clear sky (cloud, soiling): the forecast follows.
    const powerKw = timesMs.map((t) => 0.6 * clearSkyPvPower(berlin, t).powerKw)
    const scaled = forecastPv({ site: berlin, fromMs, slotMs: 900_000, slots: 96, history: { timesMs, powerKw } })
    const clear = forecastPv({ site: berlin, fromMs, slotMs: 900_000, slots: 96 })
    expect(scaled.scale).toBeCloseTo(0.6, 5)
    expect(clear.scale).toBe(1)
    const peak = (r: typeof clear) => Math.max(...r.forecast.map((p) => p.powerKw))
    expect(peak(scaled) / peak(clear)).toBeCloseTo(0.6, 2)
  })

  it('falls back to clear sky when the history has no daylight', () => {
    const fromMs = Date.parse('2024-06-21T12:00:00Z')
    const result = forecastPv({ site: berlin, fromMs, slotMs: 3_600_000, slots: 4, history: { timesMs: [Date.parse('2024-06-20T23:00:00Z')], powerKw: [0] } })
    expect(result.scale).toBe(1)
    expect(result.scaleSource).toMatch(/too few daylight/)
  })
})
