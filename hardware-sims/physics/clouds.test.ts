import { describe, expect, it } from 'vitest'
import { cloudClearness } from './clouds.ts'

describe('cloudClearness', () => {
  it('is a pure function of seed and time, within 0.05..1', () => {
    const t = Date.parse('2013-01-15T02:00:00Z')
    expect(cloudClearness(t, 3)).toBe(cloudClearness(t, 3))
    for (let i = 0; i < 2000; i++) {
      const k = cloudClearness(t + i * 97_000, 3)
      expect(k).toBeGreaterThanOrEqual(0.05)
      expect(k).toBeLessThanOrEqual(1)
    }
  })

  it('changes smoothly within a day and differs between seeds and days', () => {
    const t = Date.parse('2013-01-15T02:00:00Z')
    let maxStep = 0
    for (let i = 0; i < 600; i++) maxStep = Math.max(maxStep, Math.abs(cloudClearness(t + (i + 1) * 1000, 3) - cloudClearness(t + i * 1000, 3)))
    expect(maxStep).toBeLessThan(0.01) // per second
    const dailyMeans = (seed: number) =>
      Array.from({ length: 60 }, (_, d) => {
        let sum = 0
        for (let h = 0; h < 24; h++) sum += cloudClearness(t + d * 86_400_000 + h * 3_600_000, seed)
        return sum / 24
      })
    const means = dailyMeans(3)
    expect(Math.max(...means) - Math.min(...means)).toBeGreaterThan(0.4) // clear and overcast days both occur
    expect(dailyMeans(4)).not.toEqual(means)
  })
})
