import { describe, expect, it } from 'vitest'
import { scoreForecasts } from './scoreForecasts.ts'

describe('scoreForecasts', () => {
  it('computes MAE, RMSE and MAPE over known pairs, skipping NaN and zero actuals in MAPE', () => {
    // errors: +10 on 100, -20 on 200, NaN skipped, +5 on an actual of 0 (MAE/RMSE only)
    const score = scoreForecasts([100, 200, Number.NaN, 0], [110, 180, 50, 5])
    expect(score.count).toBe(3)
    expect(score.maeKw).toBeCloseTo((10 + 20 + 5) / 3)
    expect(score.rmseKw).toBeCloseTo(Math.sqrt((100 + 400 + 25) / 3))
    expect(score.mapePct).toBeCloseTo(((0.1 + 0.1) / 2) * 100)
  })

  it('is NaN, not zero, when nothing can be scored', () => {
    expect(Number.isNaN(scoreForecasts([Number.NaN], [1]).mapePct)).toBe(true)
  })
})
