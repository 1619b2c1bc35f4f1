import { describe, expect, it } from 'vitest'
import { createFeatureContext } from './createFeatureContext.ts'
import { forecastSeasonalNaive } from './forecastSeasonalNaive.ts'

const series = (startIso: string, values: number[], slotMs = 3_600_000) => ({ startMs: Date.parse(startIso), slotMs, loadKw: Float64Array.from(values), temperatureC: undefined, holiday: undefined })

describe('forecastSeasonalNaive', () => {
  it('repeats yesterday and last week, going back whole periods for leads past one period', () => {
    const values = Array.from({ length: 24 * 10 }, (_, i) => i)
    const context = createFeatureContext(series('2024-01-01T00:00:00Z', values), 'UTC', 48)
    const issue = 24 * 9
    const day = forecastSeasonalNaive(context, issue, 30, 1)
    expect(day[0]).toBe(issue - 24)
    expect(day[23]).toBe(issue - 1)
    // Lead 25 targets issue + 24: yesterday of that is not known yet, so two days back.
    expect(day[24]).toBe(issue - 24)
    const week = forecastSeasonalNaive(context, issue, 3, 7)
    expect(Array.from(week)).toEqual([issue - 168, issue - 167, issue - 166])
  })

  it('follows the local wall clock across a DST change', () => {
    // Melbourne, daylight saving starts 2014-10-05 at 02:00; values are the local hour of each slot.
    const startMs = Date.parse('2014-09-30T14:00:00Z')
    const values = Array.from({ length: 24 * 8 }, (_, i) => {
      const local = new Date(startMs + i * 3_600_000).toLocaleString('en-US', { timeZone: 'Australia/Melbourne', hour: 'numeric', hourCycle: 'h23' })
      return Number(local)
    })
    const context = createFeatureContext(series('2014-09-30T14:00:00Z', values), 'Australia/Melbourne', 48)
    // Issue at local midnight of 2014-10-06 (13:00Z on the 5th, AEDT), the first full day after the change.
    const issue = (Date.parse('2014-10-05T13:00:00Z') - startMs) / 3_600_000
    const day = forecastSeasonalNaive(context, issue, 24, 1)
    expect(Array.from(day)).toEqual(Array.from({ length: 24 }, (_, h) => (h === 2 ? 3 : h)))
  })
})
