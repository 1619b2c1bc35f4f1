import type { WeatherForecast } from './parseOpenMeteoForecast.ts'

/**
 * A lagged ensemble: the newest forecast's hours, each hour ahead of its issue time averaged
 * (GHI and cloud cover) over every given forecast (issue) that has that hour. Successive
 * issues of a weather service differ by more than the weather does (each issue's error is
 * partly its own), so their mean for an hour is steadier than the newest alone; a plan then
 * does not turn on one issue's draw. Hours already past at the newest issue are its own
 * (the service's analysis, better than what older issues forecast of them: the PV forecast
 * calibrates on them). The newest issue sets the hours, the source and the issue time.
 */
export function averageWeatherIssues(issues: readonly WeatherForecast[]): WeatherForecast {
  if (issues.length === 0) throw new RangeError('averageWeatherIssues: no forecast given')
  const newest = issues.reduce((a, b) => (b.issuedAtMs >= a.issuedAtMs ? b : a))
  if (issues.length === 1) return newest
  const sums = new Map<number, { ghi: number; cloud: number; n: number }>()
  for (const issue of issues) {
    for (const h of issue.hours) {
      const s = sums.get(h.endMs)
      if (s) {
        s.ghi += h.ghiWPerM2
        s.cloud += h.cloudCoverPct
        s.n++
      } else sums.set(h.endMs, { ghi: h.ghiWPerM2, cloud: h.cloudCoverPct, n: 1 })
    }
  }
  return {
    ...newest,
    hours: newest.hours.map((h) => {
      if (h.endMs <= newest.issuedAtMs) return h
      const s = sums.get(h.endMs)!
      return { endMs: h.endMs, ghiWPerM2: s.ghi / s.n, cloudCoverPct: s.cloud / s.n }
    }),
  }
}
