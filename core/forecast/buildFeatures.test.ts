import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { buildFeatures, featureNames } from './buildFeatures.ts'
import { trailingLevels } from './trailingLevels.ts'
import { createFeatureContext } from './createFeatureContext.ts'
import { syntheticLoad } from '../../test/fixtures/forecast/syntheticLoad.ts'

const history = (days: number) => {
  const { startMs, slotMs, loadKw } = syntheticLoad({ days, slotMinutes: 60, noisePct: 3 })
  return { startMs, slotMs, loadKw: Float64Array.from(loadKw), temperatureC: Float64Array.from(loadKw, (_, i) => 15 + 5 * Math.sin(i / 4)), holiday: new Uint8Array(loadKw.length) }
}

describe('buildFeatures', () => {
  it('never reads a value at or after the issue slot', () => {
    const base = history(20)
    fc.assert(
      fc.property(fc.integer({ min: 9 * 24, max: 18 * 24 }), fc.integer({ min: 1, max: 48 }), fc.double({ min: 0, max: 1000, noNaN: true }), (issue, lead, junk) => {
        const changed = { ...base, loadKw: base.loadKw.slice(), temperatureC: base.temperatureC.slice() }
        changed.loadKw.fill(junk, issue)
        changed.temperatureC.fill(junk, issue)
        const request = { issue: Int32Array.of(issue), lead: Int32Array.of(lead) }
        const a = buildFeatures(createFeatureContext(base, 'Europe/Berlin', 48), request)
        const b = buildFeatures(createFeatureContext(changed, 'Europe/Berlin', 48), request)
        expect(Array.from(b.numeric)).toEqual(Array.from(a.numeric))
        expect(b.levelKw[0]).toBe(a.levelKw[0])
      }),
      { numRuns: 40 },
    )
  })

  it('divides load features by the trailing 7-day mean and marks rows without enough history unusable', () => {
    const base = history(12)
    const context = createFeatureContext(base, 'UTC', 48)
    const issue = 10 * 24
    const rows = buildFeatures(context, { issue: Int32Array.of(issue, 3 * 24), lead: Int32Array.of(1, 1) })
    const mean = base.loadKw.subarray(issue - 168, issue).reduce((a, b) => a + b, 0) / 168
    const width = featureNames(true).length
    expect(rows.levelKw[0]).toBeCloseTo(mean, 3)
    expect(rows.numeric[3]).toBeCloseTo((base.loadKw[issue - 1] ?? 0) / mean, 5)
    expect(rows.target[0]).toBeCloseTo((base.loadKw[issue] ?? 0) / mean, 5)
    expect(rows.usable[0]).toBe(1)
    expect(rows.usable[1]).toBe(0)
    expect(rows.numeric.length).toBe(2 * width)
  })

  it('treats an all-empty temperature column as no temperature, so rows stay usable', () => {
    const base = history(12)
    const context = createFeatureContext({ ...base, temperatureC: new Float64Array(base.loadKw.length).fill(Number.NaN) }, 'UTC', 48)
    expect(context.withTemperature).toBe(false)
    expect(buildFeatures(context, { issue: Int32Array.of(10 * 24), lead: Int32Array.of(1) }).usable[0]).toBe(1)
  })

  it('keeps the level of the end of the history for targets past it', () => {
    const levels = trailingLevels(Float64Array.from({ length: 24 * 8 }, (_, i) => i), 24, 5)
    expect(levels[24 * 8 + 3]).toBe(levels[24 * 8])
  })
})
