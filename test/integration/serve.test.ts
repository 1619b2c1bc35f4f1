import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { stringify } from 'yaml'
import type { ApiEvent, StateResult } from '../../core/api/contract.ts'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { createStore } from '../../core/store/createStore.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'
import { runCli } from '../support/spawnSim.ts'

// The site service against the simulator under a virtual clock: the test ticks the
// controller and advances the simulated time, so a day and a bit pass in seconds, then
// reads everything back through the HTTP/WebSocket API as the HMI would.
const work = mkdtempSync(join(tmpdir(), 'gridmesh-serve-'))
const dataDir = join(work, 'data')
const startMs = Date.parse('2013-01-14T13:00:00Z') // local midnight, 15 Jan 2013, Melbourne
const cycleMs = 60_000
let sim: Simulator
let site: RunningSite
let simTimeMs = startMs

function siteFile(ready: Simulator['ready']) {
  return siteFileSchema.parse({
    name: 'serve-test',
    timezone: 'Australia/Melbourne',
    devices: ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 500 })),
    control: { location: { latitudeDeg: -37.81, longitudeDeg: 144.96 }, pv: { tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 } },
  })
}

async function runFor(durationMs: number) {
  for (const end = simTimeMs + durationMs; simTimeMs < end; ) {
    await site.controller.tick()
    // A stepped clock waits for a plan the cycle started (it is made beside the cycle).
    await site.controller.planning()
    sim.advance(cycleMs)
    sim.tick()
    simTimeMs += cycleMs
  }
}

type Answer = { status: number; body: unknown }
function call(path: string, init: { method?: string; token?: string | null; body?: string; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    const token = init.token === undefined ? site.api.token : init.token
    if (token) headers.authorization = `Bearer ${token}`
    if (init.host) headers.host = init.host
    const req = request(`${site.api.url}${path}`, { method: init.method ?? 'GET', headers }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
}
const message = (a: Answer) => (a.body as { error: { message: string } }).error.message

beforeAll(async () => {
  sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
  site = await startSite({ site: siteFile(sim.ready), dataDir, now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, refreshMs: 30_000 })
  // 26 simulated hours: all of 15 Jan and the first two hours of 16 Jan.
  await runFor(26 * 3_600_000)
}, 180_000)

afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('gridmesh serve: the site service and its API', () => {
  it('answers state, plan and trend queries with the session token', async () => {
    const state = await call('/api/state')
    expect(state.status).toBe(200)
    const s = state.body as StateResult
    expect(s.site).toEqual({ name: 'serve-test', timeZone: 'Australia/Melbourne', devices: ['pv1', 'bat1', 'meter1'] })
    expect(s.cycle?.timeMs).toBe(simTimeMs - cycleMs)
    expect(s.cycle?.devices.every((d) => !d.stale)).toBe(true)
    const plan = (await call('/api/plan')).body as { plan: { startMs: number; slots: unknown[] } }
    expect(plan.plan.startMs).toBe(Math.floor((simTimeMs - cycleMs) / 900_000) * 900_000)
    expect(plan.plan.slots).toHaveLength(96)
    const trend = (await call(`/api/trend?device=site&point=loadW&fromMs=${startMs}&toMs=${startMs + 86_400_000}&tier=15m`)).body as { rows: { timeMs: number; value: number }[] }
    expect(trend.rows).toHaveLength(96)
    expect(trend.rows.every((r) => r.value > 0)).toBe(true)
    expect(statSync(site.tokenFile).mode & 0o777).toBe(0o600)
    expect(readFileSync(site.tokenFile, 'utf8').trim()).toBe(site.api.token)
  })

  it('stores forecasts with the time they were made and scores yesterday from them', async () => {
    const f = (await call('/api/forecast')).body as ReturnType<RunningSite['controller']['forecast']>
    expect(f.load?.valuesW).toHaveLength(96)
    expect(f.model?.source).toBe('models/data/vic-elec-2012-2014.csv')
    // Less than a week of history: the model is not used yet, and the API says why.
    expect(f.loadMethod).toMatch(/^seasonal-naive \(.*the model needs 7 days/)
    const stored = site.store.forecastsFor({ kind: 'load', startMs, endMs: simTimeMs })
    expect(stored.length).toBeGreaterThanOrEqual(26)
    expect(stored.every((r) => r.createdAtMs % 3_600_000 === 0)).toBe(true)
    const a = f.accuracy!
    expect(a.fromMs).toBe(startMs)
    expect(a.toMs).toBe(startMs + 86_400_000)
    expect(a.dayAhead?.issuedAtMs).toBe(startMs)
    expect(a.dayAhead?.count).toBe(96)
    expect(a.short?.count).toBe(95) // midnight's slot has no forecast from before it
    expect(a.seasonalNaive).toBeNull() // nothing measured on 14 Jan
    // The scored actuals are the stored 15-minute means, and the day-ahead values the stored midnight forecast.
    const midnight = stored.find((r) => r.createdAtMs === startMs)!
    const rows = site.store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: startMs, toMs: startMs + 86_400_000, tier: '15m' })
    a.slots.forEach((slot, i) => {
      expect(slot.actualW).toBeCloseTo(rows[i]!.value, 6)
      expect(slot.dayAheadW).toBe(midnight.valuesW[i])
    })
    expect(a.dayAhead!.mapePct).toBeGreaterThan(0)
  })

  it('streams cycles, and alarms that an operator acknowledges through a command', async () => {
    const url = `${site.api.url.replace('http', 'ws')}/api/events?token=${site.api.token}`
    const ws = new WebSocket(url)
    const events: ApiEvent[] = []
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as ApiEvent))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    await fetch(`${sim.apiUrl}/api/devices/bat1/faults`, { method: 'PUT', body: JSON.stringify({ refuseConnections: true }) })
    await fetch(`${sim.apiUrl}/api/devices/bat1/disconnect`, { method: 'POST' })
    await runFor(5 * cycleMs)
    await new Promise((r) => setTimeout(r, 100))
    expect(events[0]).toMatchObject({ type: 'hello', site: { name: 'serve-test' } })
    expect(events.filter((e) => e.type === 'cycle').length).toBeGreaterThanOrEqual(5)
    const raised = events.find((e) => e.type === 'alarm' && e.alarm.key === 'stale:bat1')
    expect(raised).toMatchObject({ type: 'alarm', alarm: { state: 'unacknowledged', device: 'bat1' } })
    const id = (raised as Extract<ApiEvent, { type: 'alarm' }>).alarm.id
    const active = (await call('/api/alarms?state=active')).body as { alarms: { id: number }[] }
    expect(active.alarms.map((x) => x.id)).toContain(id)
    const ack = await call('/api/commands', { method: 'POST', body: JSON.stringify({ type: 'acknowledgeAlarm', id, by: 'alice' }) })
    expect(ack.status).toBe(200)
    expect(ack.body).toMatchObject({ type: 'acknowledgeAlarm', alarm: { id, state: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAtMs: simTimeMs } })
    await new Promise((r) => setTimeout(r, 100))
    expect(events.some((e) => e.type === 'alarm' && e.alarm.id === id && e.alarm.state === 'acknowledged')).toBe(true)
    ws.close()
    await fetch(`${sim.apiUrl}/api/devices/bat1/faults`, { method: 'DELETE' })
    // The connection pool backs off in real time after failures: cycle until it reconnects.
    for (let i = 0; i < 50 && site.controller.latest()?.devices.find((d) => d.name === 'bat1')?.stale !== false; i++) {
      await runFor(cycleMs)
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(site.store.listAlarms({ state: 'normal' }).map((x) => x.id)).toContain(id)
  })

  it('refuses requests without the token, from a foreign Host, and to unknown endpoints', async () => {
    expect((await call('/api/state', { token: null })).status).toBe(401)
    expect(message(await call('/api/state', { token: 'nope' }))).toMatch(/missing or wrong session token/)
    const rebinding = await call('/api/state', { host: `evil.example:${site.api.port}` })
    expect(rebinding.status).toBe(421)
    expect(message(rebinding)).toBe(`Host 'evil.example:${site.api.port}' is not this server (127.0.0.1:${site.api.port})`)
    expect((await call('/api/nothing')).status).toBe(404)
    expect(message(await call('/api/state', { method: 'POST', body: '{}' }))).toBe('POST is not allowed on /api/state')
    const ws = new WebSocket(`${site.api.url.replace('http', 'ws')}/api/events?token=wrong`)
    const status = await new Promise((resolve) => ws.on('unexpected-response', (_req, res) => resolve(res.statusCode)).on('error', () => resolve('error')))
    expect(status).toBe(401)
  })

  it('names what was wrong in a bad query or command, and changes nothing', async () => {
    const before = site.store.listAlarms()
    const cases: [string, { method?: string; body?: string }, number, string][] = [
      ['/api/alarms?state=cleared', {}, 400, 'query: state: expected one of unacknowledged|acknowledged|returned-unacknowledged|normal|shelved|active|open, got "cleared"'],
      ['/api/trend?device=site&point=loadW&fromMs=abc&toMs=5', {}, 400, 'query: fromMs: expected number, received NaN, got "abc"'],
      [`/api/trend?device=site&point=loadW&fromMs=10&toMs=5`, {}, 400, 'query: toMs: fromMs must be before toMs'],
      ['/api/commands', { method: 'POST', body: '{"type":"acknowledgeAlarm","id":"x"}' }, 400, 'request body: id: expected number, received string, got "x"'],
      ['/api/commands', { method: 'POST', body: '{"type":"reboot"}' }, 400, `request body: type: Invalid discriminator value. Expected 'acknowledgeAlarm' | 'setMode'`],
      ['/api/commands', { method: 'POST', body: '{"type":"acknowledgeAlarm","id":1,"extra":true}' }, 400, "request body: (top level): unknown field(s) 'extra'"],
      ['/api/commands', { method: 'POST', body: '{"type":' }, 400, 'request body: not JSON'],
      ['/api/commands', { method: 'POST', body: JSON.stringify({ type: 'acknowledgeAlarm', id: 1, by: 'x'.repeat(70_000) }) }, 413, 'request body: larger than 65536 bytes'],
      ['/api/commands', { method: 'POST', body: '{"type":"acknowledgeAlarm","id":99999}' }, 409, 'acknowledgeAlarm: alarm 99999 does not exist; expected the id of an unacknowledged or returned-unacknowledged alarm'],
    ]
    for (const [path, init, status, text] of cases) {
      const answer = await call(path, init)
      expect({ path, status: answer.status }).toEqual({ path, status })
      expect(message(answer)).toContain(text)
    }
    expect(site.store.listAlarms()).toEqual(before)
  })

  it('keeps acknowledged alarms and forecasts in the store across a restart', async () => {
    const acknowledged = site.store.listAlarms().filter((a) => a.acknowledgedBy === 'alice')
    expect(acknowledged).toHaveLength(1)
    const forecasts = site.store.forecastsFor({ kind: 'load', startMs, endMs: simTimeMs }).length
    await site.stop()
    const reopened = createStore({ path: join(dataDir, 'gridmesh.db') })
    try {
      expect(reopened.listAlarms().filter((a) => a.acknowledgedBy === 'alice')).toEqual(acknowledged)
      expect(reopened.forecastsFor({ kind: 'load', startMs, endMs: simTimeMs })).toHaveLength(forecasts)
    } finally {
      reopened.close()
    }
  })
})

describe('gridmesh serve: bad flags and site files', () => {
  it.each([
    [[], 2, 'serve: --site FILE is required'],
    [['--site', 'x.yaml', '--port', 'http'], 2, "--port: expected an integer from 0 to 65535, got 'http'"],
    [['--site', join(work, 'missing.yaml')], 2, 'cannot read the file (ENOENT)'],
  ])('gridmesh serve %j exits %i and says why', async (args, code, text) => {
    const r = await runCli(['serve', ...args])
    expect(r.code).toBe(code)
    expect(r.stderr).toContain(text)
  })

  it('rejects a control section with an impossible SoC window, naming the field', async () => {
    const file = join(work, 'bad.yaml')
    writeFileSync(file, stringify({ name: 'x', devices: [{ name: 'm', connection: { type: 'tcp', host: '127.0.0.1', port: 1 } }], control: { battery: { socMinPct: 90, socMaxPct: 20 }, holidays: ['25/12/2026'] } }))
    const r = await runCli(['serve', '--site', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('control.battery.socMinPct: expected below socMaxPct (20), got 90')
    expect(r.stderr).toContain('control.holidays[0]: a local date YYYY-MM-DD')
  })
})
