// The simulator's weather forecast: what a numerical weather service would have said about
// this simulator's own sky (clouds.ts), in Open-Meteo's hourly JSON. Each hour's forecast
// clearness is the true clearness blurred over a window that widens with lead time (a
// forecast cannot place a cloud hours ahead) plus an error whose spread grows with the
// square root of the lead, part shared over the day (a missed regime), part varying over a
// few hours. Everything is a pure function of (seed, issue time), so the same seed gives
// the same forecast however often and whenever it is asked for.
import { cloudClearness, hashUnit } from './clouds.ts'
import { clearSkyGhi, sunPosition } from './solar.ts'
import { zoneOffsetMs } from './zoneOffset.ts'

const hourMs = 3_600_000
const dayMs = 86_400_000

export type ForecastWeatherParameters = {
  seed: number
  latitudeDeg: number
  longitudeDeg: number
  /** The simulated time asked at; the forecast is the one issued at the last full `issueEveryMs` before it. */
  nowMs: number
  /** How often the simulated weather service issues a forecast (default 1 h). */
  issueEveryMs?: number
  pastDays?: number
  forecastDays?: number
  /** Local times in this zone (Open-Meteo's `timezone`), else GMT. */
  timeZone?: string | null
}

export type OpenMeteoHourly = {
  latitude: number
  longitude: number
  generationtime_ms: number
  utc_offset_seconds: number
  timezone: string
  timezone_abbreviation: string
  elevation: number
  hourly_units: { time: 'iso8601'; shortwave_radiation: 'W/m²'; cloud_cover: '%' }
  hourly: { time: string[]; shortwave_radiation: number[]; cloud_cover: number[] }
}

/** Spread of the forecast clearness error at a lead (hours; the past is the service's analysis). */
export function forecastErrorSigma(leadH: number): number {
  return leadH <= 0 ? 0.02 : 0.04 + 0.16 * Math.sqrt(leadH / 24)
}

function gaussian(seed: number, n: number): number {
  const u = Math.max(1e-12, hashUnit(seed, n))
  const v = hashUnit(seed ^ 0x5bd1e995, n)
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
}

/** Mean true clearness over the hour ending at `endMs` (six 10-minute samples). */
function trueHourClearness(seed: number, endMs: number): number {
  let sum = 0
  for (let i = 0; i < 6; i++) sum += cloudClearness(endMs - hourMs + (i + 0.5) * (hourMs / 6), seed)
  return sum / 6
}

/** Forecast clearness of the hour ending at `endMs`, issued at `issuedAtMs`. */
export function forecastClearness(seed: number, issuedAtMs: number, endMs: number, truth: (endMs: number) => number = (e) => trueHourClearness(seed, e)): number {
  const leadH = (endMs - hourMs / 2 - issuedAtMs) / hourMs
  const halfWindowH = leadH <= 0 ? 0 : Math.min(6, Math.floor(leadH / 4))
  let blurred = 0
  for (let j = -halfWindowH; j <= halfWindowH; j++) blurred += truth(endMs + j * hourMs)
  blurred /= 2 * halfWindowH + 1
  const issue = Math.floor(issuedAtMs / hourMs)
  const errorSeed = (seed ^ 0x2545f491) >>> 0
  // A day-long part (one draw per issue and UTC day) and a part varying smoothly over 3-hour knots.
  const dayPart = gaussian(errorSeed, issue * 64 + (Math.floor(endMs / dayMs) & 63))
  const knot = (endMs / hourMs) / 3
  const k0 = Math.floor(knot)
  const w = (1 - Math.cos(Math.PI * (knot - k0))) / 2
  const hourPart = gaussian(errorSeed + 1, issue * 4096 + (k0 & 4095)) * (1 - w) + gaussian(errorSeed + 1, issue * 4096 + ((k0 + 1) & 4095)) * w
  const error = forecastErrorSigma(leadH) * (dayPart + hourPart) / Math.SQRT2
  return Math.min(1.05, Math.max(0.03, blurred + error))
}

/** Cloud cover (%) for a clearness, inverting Kasten and Czeplak's k = 1 - 0.75 (cc/100)^3.4. */
function cloudCoverPct(clearness: number): number {
  return 100 * Math.min(1, Math.max(0, (1 - Math.min(1, clearness)) / 0.75)) ** (1 / 3.4)
}

const pad = (n: number) => String(n).padStart(2, '0')

/**
 * The forecast the simulated weather service issued last before `nowMs`, in Open-Meteo's
 * hourly JSON: from local midnight `pastDays` days back to `forecastDays` days on, GHI as
 * the mean of the hour before each time stamp.
 */
export function forecastWeather(p: ForecastWeatherParameters): OpenMeteoHourly {
  const started = performance.now()
  const issueEveryMs = p.issueEveryMs ?? hourMs
  const issuedAtMs = Math.floor(p.nowMs / issueEveryMs) * issueEveryMs
  const offsetMs = p.timeZone ? zoneOffsetMs(issuedAtMs, p.timeZone) : 0
  const localMidnightMs = Math.floor((issuedAtMs + offsetMs) / dayMs) * dayMs - offsetMs
  const firstMs = localMidnightMs - (p.pastDays ?? 0) * dayMs
  const hours = ((p.pastDays ?? 0) + (p.forecastDays ?? 7)) * 24
  const truthCache = new Map<number, number>()
  const truth = (endMs: number) => {
    let k = truthCache.get(endMs)
    if (k === undefined) truthCache.set(endMs, (k = trueHourClearness(p.seed, endMs)))
    return k
  }
  const time: string[] = []
  const ghi: number[] = []
  const cloud: number[] = []
  for (let i = 0; i < hours; i++) {
    const stampMs = firstMs + i * hourMs
    const local = new Date(stampMs + offsetMs)
    time.push(`${local.getUTCFullYear()}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}T${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}`)
    // Radiation is the mean over the hour before the stamp.
    let clearGhi = 0
    for (let j = 0; j < 6; j++) clearGhi += clearSkyGhi(sunPosition(stampMs - hourMs + (j + 0.5) * (hourMs / 6), p.latitudeDeg, p.longitudeDeg)) / 6
    const k = forecastClearness(p.seed, issuedAtMs, stampMs, truth)
    ghi.push(Math.round(clearGhi * k * 10) / 10)
    cloud.push(Math.round(cloudCoverPct(k)))
  }
  return {
    latitude: p.latitudeDeg,
    longitude: p.longitudeDeg,
    generationtime_ms: Math.round((performance.now() - started) * 1000) / 1000,
    utc_offset_seconds: offsetMs / 1000,
    timezone: p.timeZone ?? 'GMT',
    timezone_abbreviation: p.timeZone ? `GMT${offsetMs >= 0 ? '+' : '-'}${Math.abs(offsetMs / hourMs)}` : 'GMT',
    elevation: 0,
    hourly_units: { time: 'iso8601', shortwave_radiation: 'W/m²', cloud_cover: '%' },
    hourly: { time, shortwave_radiation: ghi, cloud_cover: cloud },
  }
}
