import { describe, expect, it } from 'vitest'
import { fitHoltWinters, forecastHoltWinters } from './holtWinters.ts'
import { syntheticLoad } from '../../test/fixtures/forecast/syntheticLoad.ts'
import { scoreForecasts } from './scoreForecasts.ts'

describe('holtWinters', () => {
  it('learns a daily and weekly pattern: day-ahead error near the noise level and below last-week naive on a level shift', () => {
    const { loadKw } = syntheticLoad({ days: 70, slotMinutes: 60, noisePct: 1 })
    // A 10 % step up two days before the end: last week's values are stale, the level adapts.
    const y = Float64Array.from(loadKw, (v, i) => (i >= 61 * 24 ? v * 1.1 : v))
    const end = 63 * 24
    const p = fitHoltWinters(y, 24, end)
    const issues = Int32Array.from({ length: 7 }, (_, d) => end + d * 24)
    const forecast = forecastHoltWinters(y, 24, p, 0, issues, 24)
    const actual = y.subarray(end, end + 7 * 24)
    const naive = y.subarray(end - 7 * 24, end)
    const hw = scoreForecasts(actual, forecast).mapePct
    expect(hw).toBeLessThan(3)
    expect(hw).toBeLessThan(scoreForecasts(actual, naive).mapePct)
  })

  it('carries on through missing values without producing NaN', () => {
    const { loadKw } = syntheticLoad({ days: 35, slotMinutes: 60 })
    const y = Float64Array.from(loadKw)
    y.fill(Number.NaN, 30 * 24, 30 * 24 + 5)
    const forecast = forecastHoltWinters(y, 24, { alpha: 0.05, delta: 0.1, omega: 0.1, phi: 0.8 }, 0, Int32Array.of(31 * 24), 24)
    expect(forecast.every(Number.isFinite)).toBe(true)
  })
})
