import { describe, expect, it } from 'vitest'
import { averageWeatherIssues } from './averageWeatherIssues.ts'
import type { WeatherForecast } from './parseOpenMeteoForecast.ts'

const hourMs = 3_600_000
const t0 = Date.parse('2014-08-18T21:00:00Z')
/** An issue at `issuedH` hours after t0 with these GHI values for the hours ending at t0 + (firstH + i) h. */
const issue = (issuedH: number, firstH: number, ghi: number[]): WeatherForecast => ({
  source: 'http://sim/forecast',
  latitudeDeg: -37.8,
  longitudeDeg: 145,
  issuedAtMs: t0 + issuedH * hourMs,
  hours: ghi.map((g, i) => ({ endMs: t0 + (firstH + i) * hourMs, ghiWPerM2: g, cloudCoverPct: 100 - g / 10 })),
})

describe('averageWeatherIssues', () => {
  it('averages each hour of the newest issue over the issues that have it, and keeps the newest issue time and hours', () => {
    // Every hour here lies ahead of the newest issue (issued at t0 + 2 h, hours from t0 + 3 h).
    const older = issue(0, 2, [100, 200, 300])
    const middle = issue(1, 3, [260, 390, 500])
    const newest = issue(2, 3, [230, 420, 600, 700])
    // Given in any order: the newest sets the hours.
    const mean = averageWeatherIssues([middle, newest, older])
    expect(mean.issuedAtMs).toBe(newest.issuedAtMs)
    expect(mean.hours.map((h) => h.endMs)).toEqual(newest.hours.map((h) => h.endMs))
    expect(mean.hours.map((h) => h.ghiWPerM2)).toEqual([(200 + 260 + 230) / 3, (300 + 390 + 420) / 3, (500 + 600) / 2, 700])
    expect(mean.hours[3]!.cloudCoverPct).toBe(30)
    expect(mean.hours[0]!.cloudCoverPct).toBeCloseTo(100 - (200 + 260 + 230) / 30, 9)
  })

  it('keeps the newest issue\'s own values for the hours already past when it was issued (its analysis)', () => {
    // Issued 2 h after t0: the hours ending at t0 + 1 h and t0 + 2 h are past for it.
    const older = issue(0, 1, [100, 200, 300])
    const newest = issue(2, 1, [150, 260, 420])
    expect(averageWeatherIssues([older, newest]).hours.map((h) => h.ghiWPerM2)).toEqual([150, 260, (300 + 420) / 2])
  })

  it('one issue is itself; none is refused', () => {
    const only = issue(0, 0, [100])
    expect(averageWeatherIssues([only])).toBe(only)
    expect(() => averageWeatherIssues([])).toThrow(/no forecast given/)
  })
})
