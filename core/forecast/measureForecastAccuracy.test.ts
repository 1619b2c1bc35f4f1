import { describe, expect, it } from 'vitest'
import { measureForecastAccuracy, type IssuedForecast } from './measureForecastAccuracy.ts'

const slotMs = 900_000
const dayMs = 86_400_000
const day = Date.UTC(2026, 10, 24)
const load = (t: number) => 2000 + 1000 * Math.sin((2 * Math.PI * (t % dayMs)) / dayMs) + (t >= day ? 300 : 0)

function actuals(): Map<number, number> {
  const m = new Map<number, number>()
  for (let t = day - dayMs; t < day + dayMs; t += slotMs) m.set(t, load(t))
  return m
}

function issued(createdAtMs: number, startMs: number, slots: number, factor: number, model = 'm'): IssuedForecast {
  return { createdAtMs, model, startMs, slotMs, valuesW: Array.from({ length: slots }, (_, i) => load(startMs + i * slotMs) * factor) }
}

describe('measureForecastAccuracy', () => {
  it('scores the day-ahead forecast, the short-lead ones and the naive baseline on the same day', () => {
    const forecasts = [issued(day - 3 * slotMs, day - 3 * slotMs, 96, 0.5, 'too-early'), issued(day, day, 96, 1.1, 'midnight')]
    for (let h = 1; h < 24; h++) forecasts.push(issued(day + h * 3_600_000, day + h * 3_600_000, 96, 1.02))
    const r = measureForecastAccuracy({ fromMs: day, toMs: day + dayMs, slotMs, forecasts, actualW: actuals() })
    expect(r.dayAhead?.model).toBe('midnight')
    expect(r.dayAhead?.issuedAtMs).toBe(day)
    expect(r.dayAhead?.mapePct).toBeCloseTo(10, 6)
    expect(r.dayAhead?.count).toBe(96)
    // Slot 0: the forecast from 45 min before (-50 %); slots 1-3: midnight's (+10 %); later the hourly ones (+2 %).
    expect(r.short?.count).toBe(96)
    expect(r.short?.mapePct).toBeGreaterThan(2)
    expect(r.short?.mapePct).toBeLessThan(3)
    // Yesterday's load is 300 W lower everywhere.
    expect(r.seasonalNaive?.maeKw).toBeCloseTo(0.3, 6)
    expect(r.slots[0]).toEqual({ startMs: day, actualW: load(day), dayAheadW: load(day) * 1.1, shortW: load(day) * 0.5, seasonalNaiveW: load(day - dayMs) })
  })

  it('uses no forecast made after the period began as its day-ahead, and none from inside the slot as short', () => {
    const r = measureForecastAccuracy({ fromMs: day, toMs: day + dayMs, slotMs, forecasts: [issued(day + slotMs, day + slotMs, 96, 1)], actualW: actuals() })
    expect(r.dayAhead).toBeNull()
    expect(r.slots[1]?.shortW).toBeNull()
    expect(r.slots[2]?.shortW).toBe(load(day + 2 * slotMs))
    expect(r.seasonalNaive?.count).toBe(96)
  })

  it('reports nulls, not numbers, where nothing was measured or forecast', () => {
    const r = measureForecastAccuracy({ fromMs: day, toMs: day + dayMs, slotMs, forecasts: [], actualW: new Map() })
    expect(r).toMatchObject({ dayAhead: null, short: null, seasonalNaive: null })
    expect(r.slots).toHaveLength(96)
  })

  it('reads a 30-minute forecast for 15-minute slots', () => {
    const half = { createdAtMs: day, model: 'm30', startMs: day, slotMs: 1_800_000, valuesW: Array.from({ length: 48 }, (_, i) => i) }
    const r = measureForecastAccuracy({ fromMs: day, toMs: day + 2 * 3_600_000, slotMs, forecasts: [half], actualW: actuals() })
    expect(r.slots.map((s) => s.dayAheadW)).toEqual([0, 0, 1, 1, 2, 2, 3, 3])
  })
})
