import { describe, expect, it } from 'vitest'
import { createCalendar } from './createCalendar.ts'

describe('createCalendar', () => {
  const melbourne = createCalendar('Australia/Melbourne')

  it('gives AEST and AEDT offsets on either side of the October 2014 change', () => {
    expect(melbourne.offsetMs(Date.parse('2014-07-01T00:00:00Z'))).toBe(10 * 3_600_000)
    expect(melbourne.offsetMs(Date.parse('2014-12-01T00:00:00Z'))).toBe(11 * 3_600_000)
    // 2014-10-05 02:00 AEST = 2014-10-04T16:00Z is the first AEDT instant.
    expect(melbourne.offsetMs(Date.parse('2014-10-04T15:30:00Z'))).toBe(10 * 3_600_000)
    expect(melbourne.offsetMs(Date.parse('2014-10-04T16:00:00Z'))).toBe(11 * 3_600_000)
  })

  it('counts 46 half-hours on the spring-forward day and 50 on the fall-back day', () => {
    const count = (fromIso: string, hours: number) => {
      const grid = melbourne.describeGrid(Date.parse(fromIso), 1_800_000, hours * 2)
      const days = new Map<number, number>()
      grid.localDay.forEach((d) => days.set(d, (days.get(d) ?? 0) + 1))
      return [...days.values()]
    }
    // Local midnight before each change, in UTC: 2014-10-05 00:00 AEST and 2014-04-06 00:00 AEDT.
    expect(count('2014-10-04T14:00:00Z', 23)).toEqual([46])
    expect(count('2014-04-05T13:00:00Z', 25)).toEqual([50])
  })

  it('numbers slots by local wall-clock time and weekdays from Monday = 0', () => {
    const grid = melbourne.describeGrid(Date.parse('2014-12-31T13:00:00Z'), 1_800_000, 3)
    // 2015-01-01 00:00 AEDT is a Thursday.
    expect(Array.from(grid.slotOfDay)).toEqual([0, 1, 2])
    expect(grid.weekday[0]).toBe(3)
  })

  it('maps local times back to UTC, moving times in the gap forward and taking the first of a repeated hour', () => {
    expect(melbourne.localToUtcMs(Date.parse('2014-12-01T12:00:00Z'))).toBe(Date.parse('2014-12-01T01:00:00Z'))
    // 02:30 on 2014-10-05 does not exist in Melbourne; read with the AEST offset it is 03:30 AEDT.
    expect(melbourne.localToUtcMs(Date.parse('2014-10-05T02:30:00Z'))).toBe(Date.parse('2014-10-04T16:30:00Z'))
    // 02:30 on 2014-04-06 happens twice; the first is still AEDT.
    expect(melbourne.localToUtcMs(Date.parse('2014-04-06T02:30:00Z'))).toBe(Date.parse('2014-04-05T15:30:00Z'))
  })

  it('rejects an unknown zone with the flag name and an example', () => {
    expect(() => createCalendar('Mars/Olympus')).toThrow(/--timezone: unknown time zone 'Mars\/Olympus'.*Australia\/Melbourne/)
  })
})
