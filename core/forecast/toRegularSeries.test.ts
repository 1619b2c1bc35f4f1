import { describe, expect, it } from 'vitest'
import { readLoadCsv } from './readLoadCsv.ts'
import { toRegularSeries } from './toRegularSeries.ts'

const csvOf = (pairs: [string, number | string][]) => readLoadCsv({ file: 'grid.csv', text: `timestamp,load_kw\n${pairs.map(([t, v]) => `${t},${v}`).join('\n')}\n` })
const halfHours = (values: (number | string)[], from = Date.parse('2024-01-01T00:00:00Z')) => values.map((v, i): [string, number | string] => [new Date(from + i * 1_800_000).toISOString(), v])

describe('toRegularSeries', () => {
  it('averages duplicate timestamps and reports their rows', () => {
    const pairs = halfHours([10, 20, 30, 40])
    pairs.splice(2, 0, [pairs[1]?.[0] ?? '', 40])
    const { series, report } = toRegularSeries(csvOf(pairs))
    expect(report.duplicates).toBe(1)
    expect(report.duplicateRows).toEqual([4])
    expect(Array.from(series.loadKw)).toEqual([10, 30, 30, 40])
  })

  it('interpolates a short gap, leaves a long one as NaN and reports both', () => {
    const values = Array.from({ length: 20 }, (_, i) => 100 + i)
    const pairs = halfHours(values).filter((_, i) => i !== 3 && !(i >= 8 && i < 15))
    const { series, report } = toRegularSeries(csvOf(pairs))
    expect(series.loadKw[3]).toBeCloseTo(103)
    expect(Number.isNaN(series.loadKw[10] ?? 0)).toBe(true)
    expect(report.gaps.map((g) => [g.slots, g.filled])).toEqual([
      [1, true],
      [7, false],
    ])
    expect(report.filledSlots).toBe(1)
    expect(report.unfilledSlots).toBe(7)
  })

  it('resamples 30-min data to 15 min by linear interpolation', () => {
    const { series } = toRegularSeries(csvOf(halfHours([10, 20, 40])), { slotMs: 900_000 })
    expect(series.slotMs).toBe(900_000)
    expect(Array.from(series.loadKw)).toEqual([10, 15, 20, 30, 40])
  })

  it('resamples 5-min data to 15 min by the mean of each slot', () => {
    const from = Date.parse('2024-01-01T00:00:00Z')
    const pairs = [1, 2, 3, 4, 5, 6].map((v, i): [string, number] => [new Date(from + i * 300_000).toISOString(), v])
    const { series, report } = toRegularSeries(csvOf(pairs))
    expect(report.nativeSlotMs).toBe(300_000)
    expect(Array.from(series.loadKw)).toEqual([2, 5])
  })

  it('rejects a resolution that is not 5, 10, 15, 30 or 60 minutes', () => {
    const from = Date.parse('2024-01-01T00:00:00Z')
    const pairs = [1, 2, 3].map((v, i): [string, number] => [new Date(from + i * 7 * 60_000).toISOString(), v])
    expect(() => toRegularSeries(csvOf(pairs))).toThrow("grid.csv: column 'timestamp': the usual step between rows is 7 min; expected a resolution of 5, 10, 15, 30, 60 min")
  })
})
