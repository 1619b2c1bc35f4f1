import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawGet, statusOf, upgradeHeaders } from '../../test/support/rawHttp.ts'
import { testSite } from '../../test/support/simSites.ts'
import { startSimulator, type Simulator } from '../startSimulator.ts'

// The simulator's control API probed as a hostile local process would: raw bytes, so the
// paths and headers reach the server exactly as sent.
let sim: Simulator
let port: number
const logged: string[] = []
beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: (m) => logged.push(m) })
  port = Number(new URL(sim.apiUrl).port)
})
afterAll(() => sim?.close())

describe('simulator control API: every request path is inside one error boundary', () => {
  it.each([
    ['GET //:99999/ (an unparseable URL)', 'GET', '//:99999/', {}],
    ['the same as a WebSocket upgrade', 'GET', '//:99999/', upgradeHeaders],
    ['a device name that is not percent-encoding', 'GET', '/api/devices/%E0%A4%A', {}],
    ['the same on a fault write', 'PUT', '/api/devices/%zz/faults', {}],
  ])('%s answers 400 and the simulator keeps serving', async (_name, method, path, headers) => {
    const answer = await rawGet(port, path, headers, method)
    expect(statusOf(answer), answer).toBe(400)
    const next = await rawGet(port, '/api/health')
    expect(statusOf(next), next).toBe(200)
    expect(logged.filter((m) => m.includes('control API'))).toEqual([])
  })
})

describe('simulator control API: Host', () => {
  it('refuses a Host that is not its own (DNS rebinding) with 421, and injects no fault', async () => {
    for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port + 1}`, '']) {
      const answer = await rawGet(port, '/api/devices/bat1/faults', { host, 'content-type': 'application/json' }, 'PUT', '{"tripped":true}')
      expect({ host, status: statusOf(answer) }).toEqual({ host, status: 421 })
      expect(answer).toContain(`Host '${host}' is not this simulator (127.0.0.1:${port})`)
    }
    expect(sim.devices.get('bat1')!.faults.tripped).toBe(false)
  })

  it('serves its own names: 127.0.0.1:port and localhost:port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect(statusOf(await rawGet(port, '/api/health', { host }))).toBe(200)
  })
})

describe('simulator control API: deeply nested JSON', () => {
  it('a 60 KB nested body is a 400 naming the field, not a 500', async () => {
    for (const body of [`${'['.repeat(30_000)}${']'.repeat(30_000)}`, `{"delayMs":${'['.repeat(30_000)}${']'.repeat(30_000)}}`]) {
      const answer = await rawGet(port, '/api/devices/pv1/faults', { 'content-type': 'application/json' }, 'PUT', body)
      expect(statusOf(answer), answer.slice(0, 300)).toBe(400)
      expect(answer.length).toBeLessThan(2000)
    }
    expect(logged.filter((m) => m.includes('control API'))).toEqual([])
  })
})

describe('simulator control API: weather forecast (Open-Meteo hourly JSON of its own sky)', () => {
  type Hourly = { latitude: number; longitude: number; utc_offset_seconds: number; hourly: { time: string[]; shortwave_radiation: number[]; cloud_cover: number[] } }
  const get = async (s: Simulator, query: string) => {
    const response = await fetch(`${s.apiUrl}/api/weather/forecast${query}`)
    return { status: response.status, body: (await response.json()) as Hourly & { error?: string } }
  }

  it('serves the site\'s place, local stamps, past and forecast days; the same seed gives the same forecast, another seed another', async () => {
    const seed = 4
    const [a, b, c] = await Promise.all([seed, seed, seed + 1].map((s) => startSimulator(testSite(), { seed: s, log: () => {} })))
    try {
      const query = '?latitude=-37.81&longitude=144.96&hourly=shortwave_radiation,cloud_cover&past_days=1&forecast_days=2&timezone=auto'
      const [fa, fb, fc] = await Promise.all([a!, b!, c!].map((s) => get(s, query)))
      expect(fa!.status).toBe(200)
      expect(fa!.body).toMatchObject({ latitude: -37.81, longitude: 144.96, utc_offset_seconds: 11 * 3600 })
      expect(fa!.body.hourly.time).toHaveLength(72)
      expect(fa!.body.hourly.time[0]).toBe('2013-01-14T00:00')
      expect(fb!.body.hourly).toEqual(fa!.body.hourly)
      expect(fc!.body.hourly.shortwave_radiation).not.toEqual(fa!.body.hourly.shortwave_radiation)
      // A day later the service has issued new forecasts: yesterday's day-ahead hours are now its analysis, nearer the sky the site saw.
      a!.advance(86_400_000)
      const later = await get(a!, query)
      expect(later.body.hourly.time[0]).toBe('2013-01-15T00:00')
      expect(later.body.hourly.shortwave_radiation.slice(0, 24)).not.toEqual(fa!.body.hourly.shortwave_radiation.slice(24, 48))
    } finally {
      await Promise.all([a, b, c].map((s) => s?.close()))
    }
  })

  it.each([
    ['?past_days=9', 'query past_days="9": expected a whole number of days from 0 to 7'],
    ['?forecast_days=x', 'query forecast_days="x": expected a whole number of days from 1 to 16'],
    ['?hourly=temperature_2m', 'query hourly: the simulator forecasts shortwave_radiation and cloud_cover only, not temperature_2m'],
    ['?timezone=Europe/Berlin', 'query timezone="Europe/Berlin": expected auto, GMT or the site\'s Australia/Melbourne'],
    ['?latitude=north', 'query latitude="north": expected degrees'],
  ])('%s is a 400 naming the parameter', async (query, message) => {
    const answer = await get(sim, query)
    expect(answer).toEqual({ status: 400, body: { error: message } })
  })
})
