import { z } from 'zod'
import { WeatherSourceError } from './WeatherSourceError.ts'

const hourMs = 3_600_000

/** Hourly weather for a place: each hour's mean over the hour that ends at `endMs` (Open-Meteo's radiation convention). */
export type WeatherForecast = {
  /** Where it came from (URL or file), for reasons and logs. */
  source: string
  latitudeDeg: number
  longitudeDeg: number
  /** When the forecast was issued (fetched, or the file written), on the site's clock. */
  issuedAtMs: number
  hours: { endMs: number; ghiWPerM2: number; cloudCoverPct: number }[]
}

export type ParseOpenMeteoForecastParameters = {
  /** The URL or file, named in every reason. */
  source: string
  issuedAtMs: number
  site: { latitudeDeg: number; longitudeDeg: number }
  nowMs: number
  /** The hours the plan needs: the series must cover [fromMs, toMs) with no hole. */
  fromMs: number
  toMs: number
  /** Default 12 h: an older forecast is stale. */
  maxAgeMs?: number | undefined
  /** Default 25 km (Open-Meteo snaps to its model's grid cell, a few km). */
  toleranceKm?: number | undefined
}

const localTime = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/

// Only the fields read here are checked; Open-Meteo sends more (timezone, elevation, units, other variables).
const openMeteoSchema = z.object({
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  utc_offset_seconds: z.number().int().min(-18 * 3600).max(18 * 3600),
  generationtime_ms: z.number().min(0).optional(),
  hourly: z.object({
    time: z.array(z.union([z.string().regex(localTime, 'a local time YYYY-MM-DDTHH:MM'), z.number().int()])).min(1),
    shortwave_radiation: z.array(z.number().min(0).max(1500, 'at most 1500 W/m²').nullable()),
    cloud_cover: z.array(z.number().min(0).max(100).nullable()),
  }),
})

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16) + 'Z'

/** Great-circle distance in km (haversine, mean Earth radius). */
function distanceKm(a: { latitudeDeg: number; longitudeDeg: number }, b: { latitudeDeg: number; longitudeDeg: number }): number {
  const rad = Math.PI / 180
  const dLat = (b.latitudeDeg - a.latitudeDeg) * rad
  const dLon = (b.longitudeDeg - a.longitudeDeg) * rad
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitudeDeg * rad) * Math.cos(b.latitudeDeg * rad) * Math.sin(dLon / 2) ** 2
  return 2 * 6371 * Math.asin(Math.min(1, Math.sqrt(h)))
}

/**
 * Reads Open-Meteo's hourly forecast JSON (`hourly.time`, `shortwave_radiation` in W/m²,
 * `cloud_cover` in %, with `latitude`, `longitude` and `utc_offset_seconds`) and checks it
 * is usable for a site's plan: well formed, for the site's place, issued recently, covering
 * the plan's hours without holes. Throws a WeatherSourceError naming the problem and where.
 */
export function parseOpenMeteoForecast(json: unknown, p: ParseOpenMeteoForecastParameters): WeatherForecast {
  const parsed = openMeteoSchema.safeParse(json)
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.map(String).join('.') || '(response)'}: ${i.message}`)
    throw new WeatherSourceError('malformed', `weather ${p.source}: not Open-Meteo hourly JSON: ${issues.join('; ')}`)
  }
  const { latitude, longitude, utc_offset_seconds: offsetS, hourly } = parsed.data
  const n = hourly.time.length
  for (const name of ['shortwave_radiation', 'cloud_cover'] as const) {
    if (hourly[name].length !== n) throw new WeatherSourceError('malformed', `weather ${p.source}: hourly.${name} has ${hourly[name].length} values for ${n} hourly.time entries`)
  }
  const startsMs = hourly.time.map((t) => {
    if (typeof t === 'number') return t * 1000
    const [, y, mo, d, h, mi] = localTime.exec(t)!.map(Number)
    return Date.UTC(y!, mo! - 1, d!, h!, mi!) - offsetS * 1000
  })
  for (let i = 1; i < n; i++) {
    const step = startsMs[i]! - startsMs[i - 1]!
    if (step <= 0) throw new WeatherSourceError('malformed', `weather ${p.source}: hourly.time[${i}] (${String(hourly.time[i])}) is not after hourly.time[${i - 1}] (${String(hourly.time[i - 1])})`)
    if (step % hourMs !== 0) throw new WeatherSourceError('malformed', `weather ${p.source}: hourly.time[${i}] (${String(hourly.time[i])}) is not on the hourly grid of hourly.time[0]`)
  }

  const away = distanceKm(p.site, { latitudeDeg: latitude, longitudeDeg: longitude })
  const toleranceKm = p.toleranceKm ?? 25
  if (away > toleranceKm) {
    throw new WeatherSourceError('location', `weather ${p.source}: the forecast is for ${latitude}, ${longitude}, ${away.toFixed(0)} km from the site (${p.site.latitudeDeg}, ${p.site.longitudeDeg}); at most ${toleranceKm} km`)
  }

  const maxAgeMs = p.maxAgeMs ?? 12 * hourMs
  if (p.nowMs - p.issuedAtMs > maxAgeMs) {
    throw new WeatherSourceError('stale', `weather ${p.source}: issued ${iso(p.issuedAtMs)}, ${((p.nowMs - p.issuedAtMs) / hourMs).toFixed(1)} h before now (${iso(p.nowMs)}); at most ${maxAgeMs / hourMs} h`)
  }
  // Radiation is the mean over the hour before each time stamp: hour i covers [time - 1 h, time).
  const hours = startsMs.map((endMs, i) => ({ endMs, ghiWPerM2: hourly.shortwave_radiation[i] ?? null, cloudCoverPct: hourly.cloud_cover[i] ?? null }))
  const firstMs = hours[0]!.endMs - hourMs
  const lastMs = hours[n - 1]!.endMs
  if (firstMs > p.fromMs || lastMs < p.toMs) {
    throw new WeatherSourceError('stale', `weather ${p.source}: covers ${iso(firstMs)} to ${iso(lastMs)}; the plan needs ${iso(p.fromMs)} to ${iso(p.toMs)}`)
  }
  for (let i = 0; i < n; i++) {
    const h = hours[i]!
    if (h.endMs <= p.fromMs || h.endMs - hourMs >= p.toMs) continue
    if (i > 0 && h.endMs - hours[i - 1]!.endMs > hourMs) {
      throw new WeatherSourceError('partial', `weather ${p.source}: no hours between hourly.time[${i - 1}] (${String(hourly.time[i - 1])}) and hourly.time[${i}] (${String(hourly.time[i])}), inside the plan's ${iso(p.fromMs)} to ${iso(p.toMs)}`)
    }
    for (const [name, value] of [['shortwave_radiation', h.ghiWPerM2], ['cloud_cover', h.cloudCoverPct]] as const) {
      if (value === null) throw new WeatherSourceError('partial', `weather ${p.source}: hourly.${name}[${i}] (${String(hourly.time[i])}) is null, inside the plan's ${iso(p.fromMs)} to ${iso(p.toMs)}`)
    }
  }
  return {
    source: p.source,
    latitudeDeg: latitude,
    longitudeDeg: longitude,
    issuedAtMs: p.issuedAtMs,
    // Hours outside the plan with a hole are dropped: the calibration only uses complete past hours.
    hours: hours.flatMap((h) => (h.ghiWPerM2 === null || h.cloudCoverPct === null ? [] : [{ endMs: h.endMs, ghiWPerM2: h.ghiWPerM2, cloudCoverPct: h.cloudCoverPct }])),
  }
}
