import { describe, expect, it } from 'vitest'
import { applyLoadQuantiles } from './applyLoadQuantiles.ts'
import { calibrateLoadQuantiles } from './calibrateLoadQuantiles.ts'
import { createSeededRandom } from '../random/createSeededRandom.ts'


/** Forecasts of 100 kW whose outcomes are off by a uniform factor: +-spread at lead 1-2, +-2 spread beyond. */
function sample(seed: number, count: number, spread: number) {
  const next = createSeededRandom(seed)
  const lead = Int32Array.from({ length: count }, (_, i) => 1 + (i % 4))
  const predictedKw = new Float64Array(count).fill(100)
  const actualKw = Float64Array.from(lead, (k) => 100 * (1 + (k <= 2 ? spread : 2 * spread) * (2 * next() - 1)))
  return { lead, predictedKw, actualKw }
}

describe('calibrateLoadQuantiles', () => {
  it('finds the 10 % and 90 % ratios per lead block, and the band covers 80 % of new outcomes', () => {
    const calibration = sample(1, 4000, 0.1)
    const table = calibrateLoadQuantiles({ ...calibration, maxLeadSlots: 4, leadBlockSlots: 2 })
    expect(table.samples).toEqual([2000, 2000])
    // Uniform on 0.9..1.1 has its P10 at 0.92 and P90 at 1.08; the wider block twice as far out.
    expect(table.lowRatio[0]).toBeCloseTo(0.92, 2)
    expect(table.highRatio[0]).toBeCloseTo(1.08, 2)
    expect(table.lowRatio[1]).toBeCloseTo(0.84, 2)
    expect(table.highRatio[1]).toBeCloseTo(1.16, 2)
    const fresh = sample(2, 4000, 0.1)
    const band = applyLoadQuantiles(table, fresh.predictedKw, fresh.lead)
    const inside = fresh.actualKw.filter((a, i) => a >= (band.lowKw[i] ?? 0) && a <= (band.highKw[i] ?? 0)).length
    expect(inside / fresh.actualKw.length).toBeGreaterThan(0.77)
    expect(inside / fresh.actualKw.length).toBeLessThan(0.83)
  })

  it('a block with too few residuals takes the previous block, and leading empty blocks the first filled one', () => {
    const { lead, predictedKw, actualKw } = sample(3, 400, 0.1)
    // Leads 1-2 only: blocks 2 and 3 (leads 5-8) are empty.
    const keep = [...lead.keys()].filter((i) => (lead[i] ?? 0) <= 2)
    const table = calibrateLoadQuantiles({ actualKw: keep.map((i) => actualKw[i] ?? 0), predictedKw: keep.map((i) => predictedKw[i] ?? 0), lead: keep.map((i) => lead[i] ?? 0), maxLeadSlots: 8, leadBlockSlots: 2 })
    expect(table.samples).toEqual([200, 0, 0, 0])
    expect(table.lowRatio.slice(1)).toEqual([table.lowRatio[0], table.lowRatio[0], table.lowRatio[0]])
    const late = calibrateLoadQuantiles({ actualKw: [...keep.map((i) => actualKw[i] ?? 0)], predictedKw: keep.map((i) => predictedKw[i] ?? 0), lead: keep.map((i) => 7 + ((lead[i] ?? 1) - 1)), maxLeadSlots: 8, leadBlockSlots: 2 })
    expect(late.samples).toEqual([0, 0, 0, 200])
    expect(late.highRatio).toEqual([late.highRatio[3], late.highRatio[3], late.highRatio[3], late.highRatio[3]])
  })

  it('skips unknown outcomes and non-positive forecasts instead of counting them', () => {
    const table = calibrateLoadQuantiles({ actualKw: [Number.NaN, 90, 100, 110], predictedKw: [100, 0, 100, Number.NaN], lead: [1, 1, 1, 1], maxLeadSlots: 1, leadBlockSlots: 1 })
    expect(table.samples).toEqual([1])
  })

  it('refuses quantile levels that are not 0 < low < high < 1 and a fractional block', () => {
    const base = { actualKw: [1], predictedKw: [1], lead: [1], maxLeadSlots: 1 }
    expect(() => calibrateLoadQuantiles({ ...base, leadBlockSlots: 1, low: 0.9, high: 0.1 })).toThrow('expected 0 < low < high < 1, got low 0.9, high 0.1')
    expect(() => calibrateLoadQuantiles({ ...base, leadBlockSlots: 1.5 })).toThrow('leadBlockSlots must be a whole number >= 1, got 1.5')
  })
})

describe('applyLoadQuantiles', () => {
  it('never gives a band that excludes the forecast itself, and uses the last block past the calibrated leads', () => {
    const table = { low: 0.1, high: 0.9, leadBlockSlots: 1, lowRatio: [1.05, 0.8], highRatio: [1.2, 0.95], samples: [50, 50] }
    const band = applyLoadQuantiles(table, [100, 100, 100], [1, 2, 9])
    expect(Array.from(band.lowKw)).toEqual([100, 80, 80])
    expect(Array.from(band.highKw)).toEqual([120, 100, 100])
  })
})
