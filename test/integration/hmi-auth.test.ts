import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { hashPassword } from '../../core/api/auth/hashPassword.ts'
import type { ApiEvent, AuditResult, LoginResult, SessionResult, SettingsResult, StateResult } from '../../core/api/contract.ts'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The HMI's people through the real site service on the simulator: accounts added with
// `gridmesh users` while it runs, sign-in with a cookie, roles checked on every write, the
// audit, the operating mode moving the simulated battery, settings, and bad input of every
// kind, each answered with a reason while the server keeps serving and nothing stored changes.
const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'gridmesh-hmi-auth-'))
const dataDir = join(work, 'data')
const startMs = Date.parse('2013-01-15T02:00:00Z') // 13:00 local, summer
const cycleMs = 10_000
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

type Answer = { status: number; body: unknown; headers: Record<string, string | string[] | undefined> }
function call(path: string, init: { method?: string; cookie?: string; token?: string; body?: string | Buffer; origin?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' }
    if (init.cookie) headers.cookie = init.cookie
    if (init.token) headers.authorization = `Bearer ${init.token}`
    if (init.origin) headers.origin = init.origin
    const req = request(`${site.api.url}${path}`, { method: init.method ?? 'GET', headers }, (res) => {
      let text = ''
      res.on('data', (c) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null, headers: res.headers }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
}
const post = (body: unknown, cookie?: string) => call('/api/commands', { method: 'POST', cookie, body: JSON.stringify(body) })
const errorOf = (a: Answer) => (a.body as { error: { name: string; message: string; field?: string } }).error
async function login(name: string, password: string) {
  const answer = await call('/api/login', { method: 'POST', body: JSON.stringify({ name, password }) })
  const setCookie = answer.headers['set-cookie']?.[0] ?? ''
  return { answer, setCookie, cookie: setCookie.split(';')[0]! }
}
const cookies: Record<string, string> = {}
/** What the store holds that a refused request must not change. */
const storedState = () => ({ mode: site.store.settings.get('mode'), settings: site.store.settings.get('site'), users: site.store.users.list() })

beforeAll(async () => {
  sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
  const siteFile = siteFileSchema.parse({
    name: 'hmi-auth',
    timezone: 'Australia/Melbourne',
    devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 500 })),
    control: { grid: { maxImportW: 15_000, maxExportW: null } },
  })
  site = await startSite({ site: siteFile, dataDir, now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, refreshMs: 30_000 })
  await runFor(3 * cycleMs)
  // An account added by the CLI while the service runs (another process, the same store).
  const added = spawnSync(process.execPath, [cli, 'users', 'add', 'ann', '--role', 'operator', '--data', dataDir], { input: 'ann-password\n', encoding: 'utf8', timeout: 60_000 })
  expect(added.stderr).toBe('')
  expect(added.status).toBe(0)
  for (const [name, role] of [
    ['vic', 'viewer'],
    ['ian', 'installer'],
  ] as const)
    site.store.users.add({ name, role, passwordHash: await hashPassword(`${name}-password`), createdAtMs: Date.now() })
}, 180_000)

afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('sign-in', () => {
  it('a right password gets an HttpOnly SameSite=Strict cookie (not Secure on plain http) that answers /api/session', async () => {
    for (const name of ['ann', 'vic', 'ian']) {
      const { answer, setCookie, cookie } = await login(name, `${name}-password`)
      expect(answer.status).toBe(200)
      expect((answer.body as LoginResult).user.name).toBe(name)
      expect(setCookie).toMatch(/^gridmesh_session=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+$/)
      cookies[name] = cookie
    }
    const session = await call('/api/session', { cookie: cookies.ann })
    expect(session.body as SessionResult).toMatchObject({ user: { name: 'ann', role: 'operator' }, via: 'session' })
    expect((await call('/api/session', { token: site.api.token })).body).toEqual({ user: { name: 'local', role: 'installer' }, via: 'token', expiresAtMs: null })
  })

  it('a wrong password and an unknown name get the same 401; no cookie, no session', async () => {
    const wrong = await login('ann', 'not-it')
    const unknown = await login('nobody', 'not-it')
    expect([wrong.answer.status, unknown.answer.status]).toEqual([401, 401])
    expect(errorOf(wrong.answer)).toEqual(errorOf(unknown.answer))
    expect(errorOf(wrong.answer).message).toBe('wrong user name or password')
    expect(wrong.setCookie).toBe('')
    expect((await call('/api/session')).status).toBe(401)
    expect((await call('/api/state', { cookie: 'gridmesh_session=forged' })).status).toBe(401)
    // a right sign-in clears this address's failures for the tests below
    cookies.ann = (await login('ann', 'ann-password')).cookie
  })

  it('the one-time link signs the local owner in once and redirects to the HMI', async () => {
    const link = new URL(site.api.signInUrl())
    const first = await call(`${link.pathname}${link.search}`)
    expect(first.status).toBe(303)
    expect(first.headers.location).toBe('/')
    const cookie = first.headers['set-cookie']![0]!.split(';')[0]!
    expect((await call('/api/session', { cookie })).body).toMatchObject({ user: { name: 'local', role: 'installer' } })
    const again = await call(`${link.pathname}${link.search}`)
    expect(again.status).toBe(401)
    expect(errorOf(again).message).toMatch(/unknown, used already or expired/)
  })

  it('an expired session is refused, and logout ends one', async () => {
    const { cookie } = await login('vic', 'vic-password')
    const idHash = createHash('sha256').update(cookie.split('=')[1]!).digest('hex')
    const stored = site.store.sessions.get(idHash)!
    site.store.sessions.remove(idHash)
    site.store.sessions.add({ ...stored, expiresAtMs: Date.now() - 1 })
    const expired = await call('/api/state', { cookie })
    expect(expired.status).toBe(401)
    expect(site.store.sessions.get(idHash)).toBeNull()
    const other = (await login('vic', 'vic-password')).cookie
    const out = await call('/api/logout', { method: 'POST', cookie: other })
    expect(out.headers['set-cookie']![0]).toMatch(/^gridmesh_session=; .*Max-Age=0/)
    expect((await call('/api/state', { cookie: other })).status).toBe(401)
    expect((await call('/api/state', { cookie: cookies.vic })).status).toBe(200)
  })

  it('a login from another origin is refused before any password is checked', async () => {
    const answer = await call('/api/login', { method: 'POST', origin: 'http://evil.example', body: JSON.stringify({ name: 'ann', password: 'ann-password' }) })
    expect(answer.status).toBe(403)
    expect(answer.headers['set-cookie']).toBeUndefined()
  })
})

describe('roles, audit, mode and settings', () => {
  it('the cookie opens the event stream; no cookie or another origin does not', async () => {
    const wsUrl = `${site.api.url.replace('http', 'ws')}/api/events`
    const refused = await new Promise<number>((resolve) => new WebSocket(wsUrl).on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('open', () => resolve(101)))
    expect(refused).toBe(401)
    const foreign = await new Promise<number>((resolve) => new WebSocket(wsUrl, { headers: { cookie: cookies.ann!, origin: 'http://evil.example' } }).on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)).on('open', () => resolve(101)))
    expect(foreign).toBe(403)
  })

  it('a viewer cannot write: 403 naming the role and what is needed, recorded, nothing changed', async () => {
    const before = storedState()
    const answer = await post({ type: 'setMode', mode: 'self-consumption' }, cookies.vic)
    expect(answer.status).toBe(403)
    expect(errorOf(answer)).toEqual({ name: 'ForbiddenError', message: 'role viewer cannot setMode (needs operator)' })
    const operator = await post({ type: 'updateSettings', grid: { maxImportW: 1 } }, cookies.ann)
    expect(errorOf(operator).message).toBe('role operator cannot updateSettings (needs installer)')
    expect(storedState()).toEqual(before)
    const audit = (await call('/api/audit?limit=2', { cookie: cookies.vic })).body as AuditResult
    expect(audit.entries.map((e) => [e.who, e.role, e.command, e.outcome, e.reason])).toEqual([
      ['ann', 'operator', 'updateSettings', 'refused', 'role operator cannot updateSettings (needs installer)'],
      ['vic', 'viewer', 'setMode', 'refused', 'role viewer cannot setMode (needs operator)'],
    ])
  })

  it('an operator sets manual mode: the simulated battery follows inside its envelope, events go out, and it returns to auto at expiry', async () => {
    const ws = new WebSocket(`${site.api.url.replace('http', 'ws')}/api/events`, { headers: { cookie: cookies.vic! } })
    const events: ApiEvent[] = []
    ws.on('message', (data) => events.push(JSON.parse(String(data)) as ApiEvent))
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
    const answer = await post({ type: 'setMode', mode: 'manual', setpointW: -3000, expiresInMs: 120_000 }, cookies.ann)
    expect(answer.status).toBe(200)
    expect(answer.body).toMatchObject({ type: 'setMode', mode: { mode: 'manual', setpointW: -3000, expiresAtMs: simTimeMs + 120_000, by: 'ann' } })
    await runFor(3 * cycleMs)
    const state = (await call('/api/state', { cookie: cookies.vic })).body as StateResult & { mode: { mode: string } }
    expect(state.mode.mode).toBe('manual')
    expect(state.cycle!.decisions[0]!.setpointW).toBe(-3000)
    // the simulator's battery, read back over Modbus: charging at what the operator asked
    expect(state.cycle!.snapshot.batteries[0]!.powerW).toBeCloseTo(-3000, -2)
    await runFor(120_000)
    await new Promise((r) => setTimeout(r, 200))
    ws.close()
    const modes = events.flatMap((e) => (e.type === 'mode' ? [`${e.mode.mode}:${e.mode.by}`] : []))
    expect(modes).toEqual(['manual:ann', 'auto:system'])
    expect(events.find((e) => e.type === 'audit')).toMatchObject({ type: 'audit', entry: { who: 'ann', command: 'setMode', outcome: 'ok' } })
  }, 120_000)

  it('an installer changes settings: refused values name their field, a good one applies live and is kept', async () => {
    const before = storedState()
    const bad = await post({ type: 'updateSettings', grid: { maxImportW: -5 } }, cookies.ian)
    expect(bad.status).toBe(400)
    expect(errorOf(bad).field).toBe('grid.maxImportW')
    expect(errorOf(bad).message).toMatch(/^request body: grid.maxImportW: .*got -5/)
    const overlap = await post({ type: 'updateSettings', tariff: { importBands: [{ fromHour: 0, toHour: 8, priceEurPerKWh: 0.1 }, { fromHour: 6, toHour: 9, priceEurPerKWh: 0.2 }], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.05 } }, cookies.ian)
    expect(errorOf(overlap)).toMatchObject({ field: 'tariff.importBands[1].fromHour', message: expect.stringMatching(/overlap importBands\[0\] \(0-8\)/) })
    expect(storedState()).toEqual(before)
    const good = await post({ type: 'updateSettings', grid: { maxExportW: 2000 } }, cookies.ian)
    expect(good.status).toBe(200)
    const settings = (await call('/api/settings', { cookie: cookies.vic })).body as SettingsResult
    expect(settings.settings).toMatchObject({ grid: { maxImportW: 15_000, maxExportW: 2000 }, updatedBy: 'ian' })
    expect(site.store.settings.get('site')?.value).toMatchObject({ grid: { maxExportW: 2000 } })
  })

  it('malformed, oversized and deeply nested bodies get a reason; the server keeps serving and nothing stored changes', async () => {
    const before = storedState()
    const notJson = await call('/api/commands', { method: 'POST', cookie: cookies.ian, body: '{"type":' })
    expect([notJson.status, errorOf(notJson).message]).toEqual([400, expect.stringMatching(/^request body: not JSON/)])
    const huge = await call('/api/commands', { method: 'POST', cookie: cookies.ian, body: Buffer.alloc(200_000, 'x') })
    expect([huge.status, errorOf(huge).message]).toEqual([413, expect.stringMatching(/larger than 65536 bytes/)])
    const deep = await call('/api/commands', { method: 'POST', cookie: cookies.ian, body: '['.repeat(30_000) })
    expect(deep.status).toBe(400)
    const wrongType = await post({ type: 'setMode', mode: 'manual', setpointW: '9000', expiresInMs: 1 }, cookies.ian)
    expect(wrongType.status).toBe(400)
    expect(errorOf(wrongType).field).toBe('setpointW')
    const badLogin = await call('/api/login', { method: 'POST', body: JSON.stringify({ name: 'ann' }) })
    expect([badLogin.status, errorOf(badLogin).field]).toEqual([400, 'password'])
    const badQuery = await call('/api/audit?limit=0', { cookie: cookies.vic })
    expect(badQuery.status).toBe(400)
    expect(storedState()).toEqual(before)
    expect((await call('/api/state', { cookie: cookies.vic })).status).toBe(200)
  })

  it('guessing a password is slowed down per name and address, the right one too', async () => {
    for (let i = 0; i < 4; i++) expect((await login('ian', `guess-${i}`)).answer.status).toBe(401)
    const held = await login('ian', 'ian-password')
    expect(held.answer.status).toBe(429)
    expect(errorOf(held.answer).message).toMatch(/too many failed sign-ins for this name or from this address; try again in \d+ s/)
    expect(held.setCookie).toBe('')
    // signed-in users carry on meanwhile
    expect((await call('/api/state', { cookie: cookies.ann })).status).toBe(200)
  })
})
