const formatters = new Map<string, Intl.DateTimeFormat>()
const cache = new Map<string, number>()

/** The offset of an IANA zone from UTC at a time, in ms (cached per zone and UTC hour). */
export function zoneOffsetMs(timeMs: number, timeZone: string): number {
  const hour = Math.floor(timeMs / 3_600_000)
  const key = `${timeZone} ${hour}`
  const hit = cache.get(key)
  if (hit !== undefined) return hit
  let formatter = formatters.get(timeZone)
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    })
    formatters.set(timeZone, formatter)
  }
  const at = hour * 3_600_000
  const parts = Object.fromEntries(formatter.formatToParts(at).map((p) => [p.type, Number(p.value)]))
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!)
  const offset = asUtc - at
  if (cache.size > 100_000) cache.clear()
  cache.set(key, offset)
  return offset
}
