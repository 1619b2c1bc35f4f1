import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createWeatherSource } from './createWeatherSource.ts'
import { weatherSourceSchema } from './weatherSourceSchema.ts'

const hourMs = 3_600_000
const site = { latitudeDeg: -37.81, longitudeDeg: 144.96 }
const startMs = Date.parse('2013-01-15T00:00:00Z')
const body = (lat = -37.81) =>
  JSON.stringify({
    latitude: lat,
    longitude: 144.96,
    utc_offset_seconds: 0,
    hourly: {
      time: Array.from({ length: 72 }, (_, i) => new Date(startMs + i * hourMs).toISOString().slice(0, 16)),
      shortwave_radiation: Array.from({ length: 72 }, (_, i) => ((i % 24) - 12) ** 2 < 36 ? 500 : 0),
      cloud_cover: Array.from({ length: 72 }, () => 40),
    },
  })
const request = (nowMs: number) => ({ nowMs, fromMs: nowMs, toMs: nowMs + 24 * hourMs, site })

let server: Server
let base: string
let requests = 0
let answer: (path: string) => { status: number; text: string } | 'hang' = () => ({ status: 200, text: body() })
const work = mkdtempSync(join(tmpdir(), 'gridmesh-weather-'))
beforeAll(async () => {
  server = createServer((req, res) => {
    requests++
    const a = answer(req.url ?? '')
    if (a === 'hang') return
    res.writeHead(a.status, { 'content-type': 'application/json' })
    res.end(a.text)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
  rmSync(work, { recursive: true, force: true })
})

describe('createWeatherSource: a URL', () => {
  it('fetches at most once per refresh interval of the site clock, and keeps the last good answer through a failed refetch until it is stale', async () => {
    answer = () => ({ status: 200, text: body() })
    requests = 0
    const source = createWeatherSource(weatherSourceSchema.parse({ url: `${base}/v1/forecast`, refreshMin: 60, maxAgeH: 3 }))
    const t0 = startMs + 2 * hourMs
    expect(await source.forecast(request(t0))).toMatchObject({ ok: true, forecast: { issuedAtMs: t0 } })
    expect(await source.forecast(request(t0 + 30 * 60_000))).toMatchObject({ ok: true, forecast: { issuedAtMs: t0 } })
    expect(requests).toBe(1)
    answer = () => ({ status: 503, text: 'busy' })
    expect(await source.forecast(request(t0 + 2 * hourMs))).toMatchObject({ ok: true, forecast: { issuedAtMs: t0 } })
    expect(await source.forecast(request(t0 + 4 * hourMs))).toEqual({ ok: false, problem: 'stale', reason: expect.stringContaining('4.0 h before now') })
    expect(requests).toBe(3)
  })

  it('an error status, a hang past the timeout, a refused connection and a non-JSON body are each a reason', async () => {
    const fresh = (extra: Record<string, unknown> = {}) => createWeatherSource(weatherSourceSchema.parse({ url: `${base}/v1/forecast`, timeoutMs: 300, ...extra }))
    answer = () => ({ status: 500, text: '{"error":true,"reason":"boom"}' })
    expect(await fresh().forecast(request(startMs))).toEqual({ ok: false, problem: 'missing', reason: `weather ${base}/v1/forecast: HTTP 500: {"error":true,"reason":"boom"}` })
    answer = () => 'hang'
    expect(await fresh().forecast(request(startMs))).toEqual({ ok: false, problem: 'missing', reason: `weather ${base}/v1/forecast: cannot fetch: no answer within 300 ms` })
    answer = () => ({ status: 200, text: '<html>' })
    expect(await fresh().forecast(request(startMs))).toMatchObject({ ok: false, problem: 'malformed', reason: expect.stringContaining('not JSON') })
    answer = () => ({ status: 200, text: body(-33.87) })
    expect(await fresh().forecast(request(startMs))).toMatchObject({ ok: false, problem: 'location' })
    const refused = createWeatherSource(weatherSourceSchema.parse({ url: 'http://127.0.0.1:1/v1/forecast', timeoutMs: 2000 }))
    expect(await refused.forecast(request(startMs))).toMatchObject({ ok: false, problem: 'missing', reason: expect.stringContaining('weather http://127.0.0.1:1/v1/forecast: cannot fetch: fetch failed') })
  })
})

describe('createWeatherSource: a file', () => {
  it('reads it each time, its modification time the issue time; a missing file is a reason', async () => {
    const file = join(work, 'forecast.json')
    writeFileSync(file, body())
    const issued = startMs + hourMs
    utimesSync(file, issued / 1000, issued / 1000)
    const source = createWeatherSource(weatherSourceSchema.parse({ file }))
    expect(await source.forecast(request(startMs + 2 * hourMs))).toMatchObject({ ok: true, forecast: { issuedAtMs: issued, source: file } })
    expect(await source.forecast(request(startMs + 14 * hourMs))).toMatchObject({ ok: false, problem: 'stale' })
    const missing = createWeatherSource(weatherSourceSchema.parse({ file: join(work, 'none.json') }))
    expect(await missing.forecast(request(startMs))).toMatchObject({ ok: false, problem: 'missing', reason: expect.stringContaining(`weather ${join(work, 'none.json')}: cannot read: ENOENT`) })
  })

  it('the site file section takes exactly one of url and file', () => {
    expect(weatherSourceSchema.safeParse({}).error?.issues[0]?.message).toBe('give exactly one of url and file')
    expect(weatherSourceSchema.safeParse({ url: 'https://x', file: 'y' }).success).toBe(false)
    expect(weatherSourceSchema.safeParse({ url: 'ftp://x' }).success).toBe(false)
  })
})
