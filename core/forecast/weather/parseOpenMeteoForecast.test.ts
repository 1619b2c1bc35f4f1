import { describe, expect, it } from 'vitest'
import { clearSkyPvPower } from '../clearSkyPvPower.ts'
import { parseOpenMeteoForecast, type ParseOpenMeteoForecastParameters } from './parseOpenMeteoForecast.ts'
import { WeatherSourceError } from './WeatherSourceError.ts'

const hourMs = 3_600_000
const site = { latitudeDeg: -37.81, longitudeDeg: 144.96 }
const array = { ...site, tiltDeg: 0, azimuthDeg: 0, peakPowerKw: 1 }
const offsetS = 11 * 3600
// Local midnight 2013-01-15 in Melbourne (UTC+11).
const midnightMs = Date.parse('2013-01-14T13:00:00Z')
const pad = (n: number) => String(n).padStart(2, '0')
const local = (ms: number) => {
  const d = new Date(ms + offsetS * 1000)
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** An Open-Meteo response as the service sends it (with fields the parser does not read): 3 days from local midnight, a half-clear sky. */
function response(hours = 72) {
  const stamps = Array.from({ length: hours }, (_, i) => midnightMs + i * hourMs)
  return {
    latitude: -37.8,
    longitude: 144.9375,
    generationtime_ms: 0.123,
    utc_offset_seconds: offsetS,
    timezone: 'Australia/Melbourne',
    timezone_abbreviation: 'GMT+11',
    elevation: 31,
    hourly_units: { time: 'iso8601', shortwave_radiation: 'W/m²', cloud_cover: '%' },
    hourly: {
      time: stamps.map(local),
      shortwave_radiation: stamps.map((t) => Math.round(clearSkyPvPower(array, t - hourMs / 2).globalWPerM2 * 0.5 * 10) / 10),
      cloud_cover: stamps.map(() => 60),
    },
  }
}

const nowMs = midnightMs + 10 * hourMs
const request: ParseOpenMeteoForecastParameters = { source: 'https://api.open-meteo.com/v1/forecast', issuedAtMs: nowMs - hourMs, site, nowMs, fromMs: nowMs, toMs: nowMs + 24 * hourMs }

function problemOf(json: unknown, overrides: Partial<ParseOpenMeteoForecastParameters> = {}): { problem: string; message: string } {
  try {
    parseOpenMeteoForecast(json, { ...request, ...overrides })
  } catch (error) {
    expect(error).toBeInstanceOf(WeatherSourceError)
    return { problem: (error as WeatherSourceError).problem, message: (error as WeatherSourceError).shortMessage }
  }
  throw new Error('expected the forecast to be refused')
}

describe('parseOpenMeteoForecast: a good response', () => {
  it('gives each hour at its end time in UTC (radiation is the mean of the hour before the stamp)', () => {
    const f = parseOpenMeteoForecast(response(), request)
    expect(f.hours).toHaveLength(72)
    expect(f.hours[0]!.endMs).toBe(midnightMs)
    expect(f.hours[13]!.endMs).toBe(Date.parse('2013-01-15T02:00:00Z'))
    expect(f.hours[13]!.ghiWPerM2).toBe(response().hourly.shortwave_radiation[13])
    expect(f.hours[13]!.ghiWPerM2).toBeGreaterThan(300)
    expect(f).toMatchObject({ latitudeDeg: -37.8, longitudeDeg: 144.9375, issuedAtMs: nowMs - hourMs, source: request.source })
  })

  it('reads unix time stamps (timeformat=unixtime) the same', () => {
    const json = response()
    const unix = { ...json, hourly: { ...json.hourly, time: json.hourly.time.map((_, i) => (midnightMs + i * hourMs) / 1000) } }
    expect(parseOpenMeteoForecast(unix, request).hours).toEqual(parseOpenMeteoForecast(json, request).hours)
  })

  it('drops holes outside the plan\'s hours instead of refusing the forecast', () => {
    const json = response()
    json.hourly.shortwave_radiation[70] = null as unknown as number
    expect(parseOpenMeteoForecast(json, request).hours).toHaveLength(71)
  })
})

describe('parseOpenMeteoForecast: bad input is refused with the problem and where', () => {
  it('malformed: not an object, a missing variable, a wrong type, counts that differ, time going back', () => {
    expect(problemOf('<html>rate limited</html>')).toMatchObject({ problem: 'malformed', message: expect.stringContaining('https://api.open-meteo.com/v1/forecast: not Open-Meteo hourly JSON') })
    const { cloud_cover: _dropped, ...noCloud } = response().hourly
    expect(problemOf({ ...response(), hourly: noCloud })).toMatchObject({ problem: 'malformed', message: expect.stringContaining('hourly.cloud_cover') })
    const typed = response()
    ;(typed.hourly.shortwave_radiation as unknown[])[5] = '400'
    expect(problemOf(typed)).toMatchObject({ problem: 'malformed', message: expect.stringContaining('hourly.shortwave_radiation.5') })
    const short = response()
    short.hourly.cloud_cover.pop()
    expect(problemOf(short).message).toContain('hourly.cloud_cover has 71 values for 72 hourly.time entries')
    const back = response()
    back.hourly.time[10] = back.hourly.time[8]!
    expect(problemOf(back)).toMatchObject({ problem: 'malformed', message: expect.stringContaining('hourly.time[10] (2013-01-15T08:00) is not after hourly.time[9]') })
    const sun = response()
    sun.hourly.shortwave_radiation[12] = 5000
    expect(problemOf(sun)).toMatchObject({ problem: 'malformed', message: expect.stringContaining('at most 1500 W/m²') })
  })

  it('location: a forecast for Sydney given to a Melbourne site', () => {
    expect(problemOf({ ...response(), latitude: -33.87, longitude: 151.21 })).toEqual({
      problem: 'location',
      message: 'weather https://api.open-meteo.com/v1/forecast: the forecast is for -33.87, 151.21, 713 km from the site (-37.81, 144.96); at most 25 km',
    })
    // Open-Meteo's grid cell a few km away is fine.
    expect(() => parseOpenMeteoForecast({ ...response(), latitude: -37.75, longitude: 145.0 }, request)).not.toThrow()
  })

  it('stale: issued too long ago, or not reaching the end of the plan', () => {
    expect(problemOf(response(), { issuedAtMs: nowMs - 13 * hourMs })).toEqual({
      problem: 'stale',
      message: 'weather https://api.open-meteo.com/v1/forecast: issued 2013-01-14T10:00Z, 13.0 h before now (2013-01-14T23:00Z); at most 12 h',
    })
    expect(problemOf(response(30))).toEqual({
      problem: 'stale',
      message: 'weather https://api.open-meteo.com/v1/forecast: covers 2013-01-14T12:00Z to 2013-01-15T18:00Z; the plan needs 2013-01-14T23:00Z to 2013-01-15T23:00Z',
    })
  })

  it('partial: a null or a missing hour inside the plan', () => {
    const nulls = response()
    nulls.hourly.cloud_cover[20] = null as unknown as number
    expect(problemOf(nulls)).toEqual({
      problem: 'partial',
      message: "weather https://api.open-meteo.com/v1/forecast: hourly.cloud_cover[20] (2013-01-15T20:00) is null, inside the plan's 2013-01-14T23:00Z to 2013-01-15T23:00Z",
    })
    const gap = response()
    for (const key of ['time', 'shortwave_radiation', 'cloud_cover'] as const) (gap.hourly[key] as unknown[]).splice(20, 3)
    expect(problemOf(gap)).toMatchObject({ problem: 'partial', message: expect.stringContaining('no hours between hourly.time[19] (2013-01-15T19:00) and hourly.time[20] (2013-01-15T23:00)') })
  })
})
