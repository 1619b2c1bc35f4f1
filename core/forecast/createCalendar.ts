import { UsageError } from '../errors/BaseError.ts'

const dayMs = 86_400_000
// Real zones change their offset only on quarter-hour boundaries, so one lookup per UTC quarter hour is exact.
const cacheStepMs = 900_000

/** Calendar fields of a regular UTC grid, seen in the site's time zone (DST days have 23 or 25 hours). */
export type SlotCalendar = {
  offsetMs: Float64Array
  /** Local wall-clock slot of the day: floor(local minutes since midnight / slot minutes). */
  slotOfDay: Int32Array
  /** Local weekday, 0 = Monday. */
  weekday: Int8Array
  /** Local calendar day as days since 1970-01-01. */
  localDay: Int32Array
}

export type Calendar = {
  timeZone: string
  /** UTC offset of the zone at that instant, in ms (local = utc + offset). */
  offsetMs: (utcMs: number) => number
  /** The UTC instant of a local wall-clock time given as if it were UTC ms; in a DST gap it moves forward, in an overlap it takes the first. */
  localToUtcMs: (localMs: number) => number
  describeGrid: (startMs: number, slotMs: number, count: number) => SlotCalendar
}

/** Time zone arithmetic for calendar features, using Intl only; throws a UsageError for an unknown zone. */
export function createCalendar(timeZone: string): Calendar {
  let format: Intl.DateTimeFormat
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  } catch (error) {
    throw new UsageError(`--timezone: unknown time zone '${timeZone}'; expected an IANA name such as Australia/Melbourne or Europe/Berlin`, { cause: error })
  }
  const cache = new Map<number, number>()
  const offsetMs = (utcMs: number): number => {
    const key = Math.floor(utcMs / cacheStepMs)
    const hit = cache.get(key)
    if (hit !== undefined) return hit
    const probe = key * cacheStepMs
    const parts: Record<string, number> = {}
    for (const part of format.formatToParts(new Date(probe))) if (part.type !== 'literal') parts[part.type] = Number(part.value)
    const asUtc = Date.UTC(parts.year ?? 1970, (parts.month ?? 1) - 1, parts.day ?? 1, parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    const offset = asUtc - probe
    cache.set(key, offset)
    return offset
  }
  const localToUtcMs = (localMs: number): number => {
    // The offsets half a day either side cover any single transition.
    const before = offsetMs(localMs - dayMs / 2)
    const after = offsetMs(localMs + dayMs / 2)
    const valid = [localMs - before, localMs - after].filter((utc) => utc + offsetMs(utc) === localMs)
    if (valid.length > 0) return Math.min(...valid)
    // In the spring-forward gap the wall time does not exist: read it with the offset before the gap.
    return localMs - before
  }
  const describeGrid = (startMs: number, slotMs: number, count: number): SlotCalendar => {
    const result: SlotCalendar = {
      offsetMs: new Float64Array(count),
      slotOfDay: new Int32Array(count),
      weekday: new Int8Array(count),
      localDay: new Int32Array(count),
    }
    for (let i = 0; i < count; i++) {
      const utc = startMs + i * slotMs
      const offset = offsetMs(utc)
      const local = utc + offset
      const day = Math.floor(local / dayMs)
      result.offsetMs[i] = offset
      result.localDay[i] = day
      result.slotOfDay[i] = Math.floor((local - day * dayMs) / slotMs)
      // 1970-01-01 was a Thursday (3 when Monday = 0).
      result.weekday[i] = (((day + 3) % 7) + 7) % 7
    }
    return result
  }
  return { timeZone, offsetMs, localToUtcMs, describeGrid }
}
