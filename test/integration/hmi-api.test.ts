import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { hashPassword } from '../../core/api/auth/hashPassword.ts'
import type { AlarmEventsResult, ApiEvent, AlarmsResult, CommissionJob, DevicesResult, MarketResult, PointsResult, ScanCommandResult, SimResult, TrendResult } from '../../core/api/contract.ts'
import { createApiServer } from '../../core/api/createApiServer.ts'
import { createSiteDataServices } from '../../core/api/routes/createSiteDataServices.ts'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The HMI's part-B API through a real server on a site running on the simulator: points,
// trend tiers and CSV, the device list, the simulator view and its commands, ISA-18.2
// alarms with shelving, the market answer, scan -> site file -> commissioning; and bad
// input to each new query and command.
const work = mkdtempSync(join(tmpdir(), 'gridmesh-hmi-api-'))
const startMs = Date.parse('2013-01-15T00:00:00Z')
const cycleMs = 60_000
let sim: Simulator
let site: RunningSite
let simTimeMs = startMs

async function runFor(durationMs: number) {
  for (const end = simTimeMs + durationMs; simTimeMs < end; ) {
    await site.controller.tick()
    sim.advance(cycleMs)
    sim.tick()
    simTimeMs += cycleMs
  }
}

type Answer = { status: number; headers: Record<string, string | string[] | undefined>; text: string; body: unknown }
function call(path: string, init: { method?: string; body?: unknown; base?: { url: string; token: string } } = {}): Promise<Answer> {
  const base = init.base ?? site.api
  return new Promise((resolve, reject) => {
    const req = request(`${base.url}${path}`, { method: init.method ?? 'GET', headers: { authorization: `Bearer ${base.token}`, 'content-type': 'application/json' } }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => {
        let body: unknown = null
        try {
          body = JSON.parse(text)
        } catch {
          // CSV, HTML
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body })
      })
    })
    req.on('error', reject)
    req.end(init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body))
  })
}
const command = (body: unknown) => call('/api/commands', { method: 'POST', body })
const message = (a: Answer) => (a.body as { error: { message: string } }).error.message

beforeAll(async () => {
  sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
  const file = siteFileSchema.parse({
    name: 'hmi-test',
    timezone: 'Australia/Melbourne',
    devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 500 })),
  })
  site = await startSite({ site: file, dataDir: join(work, 'data'), now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, refreshMs: 30_000, simApiUrl: sim.apiUrl })
  await runFor(30 * cycleMs)
}, 180_000)

afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('HMI API part B through a real server on the simulator', () => {
  it('lists the stored points, answers trends with the tier for the range, and exports CSV as a download', async () => {
    const points = (await call('/api/points')).body as PointsResult
    expect(points.points).toEqual(expect.arrayContaining([{ device: 'site', point: 'loadW' }, { device: 'site', point: 'pvW' }, { device: 'site', point: 'gridW' }]))
    const trend = (fromMs: number, toMs: number) => call(`/api/trend?device=site&point=loadW&fromMs=${fromMs}&toMs=${toMs}&maxPoints=400`)
    const short = (await trend(simTimeMs - 30 * cycleMs, simTimeMs)).body as TrendResult
    expect(short).toMatchObject({ device: 'site', point: 'loadW', tier: 'raw', sourceRows: 30 })
    expect(short.rows).toHaveLength(30)
    expect(short.rows.map((r) => r.timeMs)).toEqual(Array.from({ length: 30 }, (_, i) => simTimeMs - (30 - i) * cycleMs))
    expect(short.rows.every((r) => Number.isFinite(r.value))).toBe(true)
    expect(((await trend(simTimeMs - 2 * 86_400_000, simTimeMs)).body as TrendResult).tier).toBe('1m')
    expect(((await trend(simTimeMs - 90 * 86_400_000, simTimeMs)).body as TrendResult).tier).toBe('15m')
    const csv = await call(`/api/trend.csv?device=site&point=loadW&fromMs=${simTimeMs - 30 * cycleMs}&toMs=${simTimeMs}`)
    expect(csv.status).toBe(200)
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8')
    expect(csv.headers['content-disposition']).toMatch(/^attachment; filename="hmi-test-site-loadW-2013-01-15T00-00-00\.000Z-2013-01-15T00-30-00\.000Z\.csv"$/)
    const lines = csv.text.trimEnd().split('\r\n')
    expect(lines[0]).toBe('time,device,point,value')
    expect(lines).toHaveLength(31)
    const all = await call(`/api/trend.csv?fromMs=${simTimeMs - 5 * cycleMs}&toMs=${simTimeMs}`)
    expect(new Set(all.text.trimEnd().split('\r\n').slice(1).map((l) => l.split(',')[1]))).toContain('site')
  })

  it('lists every device with its decoded points, latency, error counts and stale flag', async () => {
    const { devices } = (await call('/api/devices')).body as DevicesResult
    expect(devices.map((d) => d.name)).toEqual(['pv1', 'bat1', 'meter1'])
    for (const d of devices) {
      expect(d).toMatchObject({ driver: 'sunspec', stale: false, controlError: null, pointsError: null, unitId: 1 })
      expect(d.address).toMatch(/^127\.0\.0\.1:\d+$/)
      expect(d.diagnostics!.reads).toBeGreaterThanOrEqual(30)
      expect(d.diagnostics!.lastReadLatencyMs).toBeGreaterThan(0)
      expect(d.points.length).toBeGreaterThan(10)
    }
    const w = devices[0]!.points.find((p) => p.name === '103.W')!
    expect(w).toMatchObject({ model: 103, point: 'W', units: 'W' })
    expect(typeof w.value).toBe('number')
    expect(devices[1]!.points.find((p) => p.model === 124 || p.model === 802)).toBeDefined()
  })

  it("shows the simulator and forwards the tester's commands; a fault becomes an ISA-18.2 alarm that is shelved, expires, is acknowledged and closes", async () => {
    const state = (await call('/api/sim')).body as SimResult
    expect(state).toMatchObject({ available: true, apiUrl: sim.apiUrl, state: { site: 'test', paused: true } })
    expect(state.state.devices.map((d) => d.name)).toEqual(['pv1', 'bat1', 'meter1'])
    expect((await command({ type: 'simSetClock', speed: 0 })).status).toBe(200)
    const fault = await command({ type: 'simSetFaults', device: 'bat1', faults: { noResponse: true } })
    expect(fault.status).toBe(200)
    expect(((await call('/api/sim')).body as SimResult).state.devices.find((d) => d.name === 'bat1')!.faults).toMatchObject({ noResponse: true })
    await runFor(5 * cycleMs)
    const raised = ((await call('/api/alarms?state=unacknowledged')).body as AlarmsResult).alarms.find((a) => a.key === 'stale:bat1')!
    expect(raised).toMatchObject({ state: 'unacknowledged', conditionActive: true, device: 'bat1' })
    const shelved = await command({ type: 'shelveAlarm', id: raised.id, durationMs: 3 * cycleMs, reason: 'battery on service' })
    expect(shelved.status).toBe(200)
    expect(shelved.body).toMatchObject({ type: 'shelveAlarm', alarm: { state: 'shelved', shelvedBy: 'local', shelveReason: 'battery on service', shelvedUntilMs: simTimeMs + 3 * cycleMs } })
    expect(((await call('/api/alarms?state=active')).body as AlarmsResult).alarms.map((a) => a.id)).not.toContain(raised.id)
    await runFor(4 * cycleMs)
    // the shelve ran out on the site's clock with the condition still there: annunciated again
    expect(((await call('/api/alarms?state=unacknowledged')).body as AlarmsResult).alarms.map((a) => a.id)).toContain(raised.id)
    const ack = await command({ type: 'acknowledgeAlarm', id: raised.id })
    expect(ack.body).toMatchObject({ alarm: { state: 'acknowledged' } })
    expect((await command({ type: 'simClearFaults', device: 'bat1' })).status).toBe(200)
    for (let i = 0; i < 50 && site.controller.latest()?.devices.find((d) => d.name === 'bat1')?.stale !== false; i++) {
      await runFor(cycleMs)
      await new Promise((r) => setTimeout(r, 100))
    }
    const events = ((await call(`/api/alarms/events?alarmId=${raised.id}`)).body as AlarmEventsResult).events
    expect(events.map((e) => `${e.action}:${e.state}`)).toEqual(['raise:unacknowledged', 'shelve:shelved', 'expire:unacknowledged', 'acknowledge:acknowledged', 'clear:normal'])
    expect(events[1]).toMatchObject({ by: 'local', reason: 'battery on service', untilMs: events[1]!.timeMs + 3 * cycleMs })
    expect(events[2]).toMatchObject({ by: null, timeMs: events[1]!.timeMs + 3 * cycleMs })
  }, 120_000)

  it('checks roles on the server: a viewer reads but cannot shelve, an operator shelves but cannot drive the simulator or scan; each shelve goes out as an alarm event', async () => {
    for (const [name, role] of [['vic', 'viewer'], ['olga', 'operator']] as const) {
      site.store.users.add({ name, role, passwordHash: await hashPassword(`${name}-password`, { N: 1024, r: 8, p: 1 }), createdAtMs: 0 })
    }
    const login = async (name: string) => {
      const answer = await call('/api/login', { method: 'POST', body: { name, password: `${name}-password` } })
      expect(answer.status, answer.text).toBe(200)
      return String(answer.headers['set-cookie']).split(';')[0]!
    }
    const as = (cookie: string, path: string, body?: unknown) =>
      new Promise<Answer>((resolve, reject) => {
        const req = request(`${site.api.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { cookie, 'content-type': 'application/json' } }, (res) => {
          let text = ''
          res.on('data', (c) => (text += c))
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: text.startsWith('{') ? JSON.parse(text) : null }))
        })
        req.on('error', reject)
        req.end(body === undefined ? undefined : JSON.stringify(body))
      })
    const viewer = await login('vic')
    const operator = await login('olga')
    const raised = site.store.raiseAlarm({ key: 'test:roles', device: null, severity: 'info', message: 'for the role test', timeMs: simTimeMs })
    expect((await as(viewer, '/api/devices')).status).toBe(200)
    expect((await as(viewer, '/api/trend.csv?fromMs=0&toMs=1')).status).toBe(200)
    const refused = await as(viewer, '/api/commands', { type: 'shelveAlarm', id: raised.id, durationMs: 60_000, reason: 'r' })
    expect(refused.status).toBe(403)
    expect(message(refused)).toBe('role viewer cannot shelveAlarm (needs operator)')
    for (const body of [{ type: 'simSetClock', speed: 2 }, { type: 'scan', host: '127.0.0.1', ports: [1, 1], units: [1, 1] }, { type: 'commission', siteYaml: 'x' }]) {
      const answer = await as(operator, '/api/commands', body)
      expect(answer.status).toBe(403)
      expect(message(answer)).toBe(`role operator cannot ${body.type} (needs installer)`)
    }
    expect(site.store.listAlarms().find((a) => a.id === raised.id)!.state).toBe('unacknowledged')
    const ws = new WebSocket(`${site.api.url.replace('http', 'ws')}/api/events`, { headers: { cookie: viewer } })
    const events: ApiEvent[] = []
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as ApiEvent))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const shelved = await as(operator, '/api/commands', { type: 'shelveAlarm', id: raised.id, durationMs: 60_000, reason: 'known' })
    expect(shelved.body).toMatchObject({ alarm: { state: 'shelved', shelvedBy: 'olga' } })
    expect((await as(operator, '/api/commands', { type: 'unshelveAlarm', id: raised.id })).body).toMatchObject({ alarm: { state: 'unacknowledged' } })
    await new Promise((r) => setTimeout(r, 200))
    ws.close()
    expect(events.filter((e) => e.type === 'alarm' && e.alarm.id === raised.id).map((e) => (e as Extract<ApiEvent, { type: 'alarm' }>).alarm.state)).toEqual(['shelved', 'unacknowledged'])
    site.store.clearAlarm('test:roles', simTimeMs)
    site.store.acknowledgeAlarm(raised.id, 'test', simTimeMs)
  })

  it('answers the market honestly: no market here, and why', async () => {
    const market = await call('/api/market')
    expect(market.status).toBe(200)
    expect(market.body as MarketResult).toEqual({ available: false, reason: 'this site has no market; run gridmesh market demo --ledger FILE and serve --market-ledger FILE to see one' })
  })

  it('scans, turns the devices into a site file and commissions it, with the report readable and downloadable', async () => {
    const pv = sim.ready.find((r) => r.device === 'pv1')!
    const scan = await command({ type: 'scan', host: '127.0.0.1', ports: [pv.port, pv.port], units: [1, 2], timeoutMs: 200 })
    expect(scan.status, scan.text).toBe(200)
    const found = scan.body as ScanCommandResult
    expect(found.result.devices).toMatchObject([{ kind: 'inverter', unitId: 1, driver: 'sunspec' }])
    expect(found.siteYaml).toContain(`port: ${pv.port}`)
    const started = await command({ type: 'commission', siteYaml: found.siteYaml, readOnly: true })
    expect(started.status, started.text).toBe(200)
    const job = (started.body as { job: CommissionJob }).job
    expect(job).toMatchObject({ status: 'running', readOnly: true })
    let done: CommissionJob = job
    for (let i = 0; i < 100 && done.status === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 200))
      done = (await call(`/api/commission/${job.id}`)).body as CommissionJob
    }
    expect(done.status, done.error ?? '').toBe('done')
    expect(done.report!.devices[0]!.points.length).toBeGreaterThan(10)
    const html = await call(`/api/commission/${job.id}/report.html`)
    expect(html.headers['content-disposition']).toBe(`attachment; filename="commissioning-report-${job.id}.html"`)
    expect(html.text).toMatch(/<html/i)
    const json = await call(`/api/commission/${job.id}/report.json`)
    expect(JSON.parse(json.text)).toEqual(done.report)
  }, 120_000)

  it('refuses bad queries and commands with a 400 naming the field, keeps serving, and changes nothing stored', async () => {
    const alarmsBefore = site.store.listAlarms()
    const eventsBefore = site.store.alarmEvents(0)
    const id = alarmsBefore[0]!.id
    const cases: [string, unknown, number, string][] = [
      ['/api/trend?device=site&point=loadW&fromMs=0&toMs=10&maxPoints=2', undefined, 400, 'query: maxPoints: '],
      ['/api/trend?device=site&point=loadW&fromMs=0&toMs=10&extra=1', undefined, 400, "query: (top level): unknown field(s) 'extra'"],
      ['/api/trend.csv?point=loadW&fromMs=0&toMs=10', undefined, 400, 'query: device: a point needs its device'],
      ['/api/trend.csv?fromMs=10&toMs=5', undefined, 400, 'query: toMs: fromMs must be before toMs'],
      ['/api/alarms?state=cleared', undefined, 400, 'query: state: expected one of unacknowledged|acknowledged|returned-unacknowledged|normal|shelved|active|open, got "cleared"'],
      ['/api/alarms/events?alarmId=x', undefined, 400, 'query: alarmId: '],
      ['/api/commission/nope', undefined, 404, "no commissioning run 'nope'"],
      ['/api/points', {}, 405, 'POST is not allowed on /api/points; use GET'],
      ['/api/trend.csv?fromMs=0&toMs=1', {}, 405, 'POST is not allowed on /api/trend.csv; use GET'],
      ['/api/commands', { type: 'shelveAlarm', id, durationMs: 1000, reason: 'x' }, 400, 'request body: durationMs: '],
      ['/api/commands', { type: 'shelveAlarm', id, durationMs: 60_000, reason: '  ' }, 400, 'request body: reason: '],
      ['/api/commands', { type: 'shelveAlarm', id: 99_999, durationMs: 60_000, reason: 'r' }, 409, 'shelveAlarm: alarm 99999 does not exist'],
      ['/api/commands', { type: 'unshelveAlarm', id }, 409, `unshelveAlarm: alarm ${id} is not shelved`],
      ['/api/commands', { type: 'simSetFaults', device: 'bat1', faults: {} }, 400, 'request body: faults: no fault given'],
      ['/api/commands', { type: 'simSetFaults', device: 'bat1', faults: { delayMs: -5 } }, 400, 'request body: faults.delayMs: '],
      ['/api/commands', { type: 'simSetFaults', device: 'ghost', faults: { frozen: true } }, 404, "simulator: no device 'ghost'"],
      ['/api/commands', { type: 'simSetFaults', device: '../clock', faults: { frozen: true } }, 400, 'request body: device: a simulator device name'],
      ['/api/commands', { type: 'simSetClock', speed: -1 }, 400, 'request body: speed: '],
      ['/api/commands', { type: 'scan', host: '127.0.0.1', ports: [1, 100], units: [1, 1] }, 400, 'request body: ports: at most 16 ports per scan'],
      ['/api/commands', { type: 'scan', host: '127.0.0.1; rm', ports: [1, 1], units: [1, 1] }, 400, 'request body: host: a host name or IP address'],
      ['/api/commands', { type: 'commission', siteYaml: 'name: [' }, 400, 'request body: siteYaml: not YAML'],
      ['/api/commands', { type: 'commission', siteYaml: 'name: x\ndevices: []\n' }, 400, 'request body: siteYaml: devices'],
    ]
    for (const [path, body, status, text] of cases) {
      const answer = await call(path, body === undefined ? {} : { method: 'POST', body })
      expect({ path, body, status: answer.status }).toEqual({ path, body, status })
      expect(message(answer)).toContain(text)
    }
    expect(((await call('/api/sim')).body as SimResult).state.devices.every((d) => d.faults.frozen === false)).toBe(true)
    expect(site.store.listAlarms()).toEqual(alarmsBefore)
    expect(site.store.alarmEvents(0)).toEqual(eventsBefore)
    expect((await call('/api/points')).status).toBe(200)
  })

  it('answers 404 {available:false} for the simulator view and refuses sim commands when the site is not on a simulator', async () => {
    const pv = sim.ready.find((r) => r.device === 'pv1')!
    const file = siteFileSchema.parse({ name: 'no-sim', devices: [{ name: 'pv1', connection: { type: 'tcp', host: '127.0.0.1', port: pv.port } }] })
    const api = await createApiServer({
      backend: site.controller,
      site: { name: 'no-sim', timeZone: 'UTC', devices: [] },
      siteData: createSiteDataServices({ site: file, drivers: [], store: site.store, controller: site.controller, now: () => simTimeMs }),
    })
    try {
      const base = { url: api.url, token: api.token }
      const answer = await call('/api/sim', { base })
      expect(answer.status).toBe(404)
      expect(answer.body).toEqual({ available: false, reason: 'this site does not run on the simulator (serve --sim-api URL, or gridmesh demo)' })
      const refused = await call('/api/commands', { base, method: 'POST', body: { type: 'simSetClock', speed: 1 } })
      expect(refused.status).toBe(404)
      expect(message(refused)).toMatch(/^this site does not run on the simulator/)
      expect(((await call('/api/devices', { base })).body as DevicesResult).devices).toEqual([])
    } finally {
      await api.close()
    }
  })
})
