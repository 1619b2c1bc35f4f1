import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createFakeLiveMarketView, fakeLiveLedger, fakeLiveStatus, type FakeLiveMarketView } from '../../test/support/fakeLiveMarketView.ts'
import { rawGet, statusOf, upgradeHeaders } from '../../test/support/rawHttp.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import type { LiveMarketEvent } from '../market/live/liveMarketView.ts'
import { createStore, type Store } from '../store/createStore.ts'
import { hashPassword } from './auth/hashPassword.ts'
import type { ApiEvent, MarketResult, Principal } from './contract.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'
import { createSiteDataServices } from './routes/createSiteDataServices.ts'

// GET /api/market and the WebSocket's `market` events of a process that trades (issue 15),
// with a fake live market node (test/support/fakeLiveMarketView.ts): what each client gets,
// what nobody gets (credentials, anything without a sign-in), and a node gone wrong.
const dir = mkdtempSync(join(tmpdir(), 'gm-live-market-api-'))
const siteListeners = new Set<(event: ApiEvent) => void>()
const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({}) as never,
  alarms: () => [],
  acknowledgeAlarm: () => ({}) as never,
  trend: () => [],
  subscribe: (listener) => {
    siteListeners.add(listener as (event: ApiEvent) => void)
    return () => siteListeners.delete(listener as (event: ApiEvent) => void)
  },
}
const site = { name: 'probe', devices: [], market: {} } as unknown as SiteFile
const nowMs = Date.UTC(2026, 11, 2, 11, 0)
const secrets = ['rpc-secret', 'broker-secret', 'k3y', 'rpc-user:']
const kiosk: Principal = { name: 'kiosk', role: 'viewer', via: 'ipc' }

let store: Store
let view: FakeLiveMarketView
let api: ApiServer
const logged: string[] = []

beforeAll(async () => {
  store = createStore({ path: join(dir, 'store.db') })
  store.users.add({ name: 'vic', role: 'viewer', passwordHash: await hashPassword('vic-password', { N: 1024, r: 8, p: 1 }), createdAtMs: 0 })
  view = createFakeLiveMarketView(() => nowMs)
  const siteData = createSiteDataServices({ site, drivers: [], store, controller: { latest: () => null } as never, now: () => nowMs, liveMarket: view, marketLedgerFile: join(dir, 'ignored-ledger.json'), log: (m) => logged.push(m) })
  api = await createApiServer({ backend, site: { name: 'probe', timeZone: 'UTC', devices: [] }, token: 'secret-token', people: store, siteData, log: (m) => logged.push(m) })
})
afterAll(async () => {
  await api?.close()
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})
beforeEach(() => {
  view.answer.ledger = () => fakeLiveLedger(nowMs)
  view.answer.status = () => fakeLiveStatus(nowMs)
})

const bearer = { authorization: 'Bearer secret-token' }
const getMarket = async (headers: Record<string, string> = bearer) => {
  const res = await fetch(`${api.url}/api/market`, { headers })
  const text = await res.text()
  return { status: res.status, text, body: JSON.parse(text) as MarketResult }
}
async function signIn(name: string) {
  const res = await fetch(`${api.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: `${name}-password` }) })
  return res.headers.get('set-cookie')!.split(';')[0]!
}
/** An open event stream and every message it got, parsed. */
async function openStream(headers: Record<string, string>) {
  const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/events`, { headers })
  const got: ApiEvent[] = []
  ws.on('message', (data) => got.push(JSON.parse(String(data)) as ApiEvent))
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  return { ws, got }
}
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10))
  if (!check()) throw new Error(`timed out waiting for ${what}`)
}
const event = (kind: LiveMarketEvent['kind'], detail: string, extra: Partial<LiveMarketEvent> = {}): LiveMarketEvent => ({ type: 'market', kind, interval: '1962944', atMs: nowMs, detail, ...extra })

describe('GET /api/market of a process that trades', () => {
  it('answers the live ledger and the node state (before any ledger file), checked and with every credential removed', async () => {
    const { status, text, body } = await getMarket()
    expect(status).toBe(200)
    expect(body).toMatchObject({ available: true, source: 'live', ledger: { source: 'live', intervals: { length: 4 } }, live: { role: 'site+operator', counters: { forged: 11, replayed: 5, late: 3 }, presence: { length: 3 } } })
    if (!body.available || !body.live) throw new Error('expected the live answer')
    expect(body.file).toBeUndefined()
    expect(body.live.broker.url).toBe('mqtts://***:***@broker.example:8883')
    expect(body.live.chain.rpcUrl).toBe('https://***:***@chain.example:8545/?***')
    expect(body.live.chain.lastError).toBe('fetch failed: connect ECONNREFUSED https://***@chain.example:8545')
    expect(body.ledger.chain.rpcUrl).toBe('https://***:***@chain.example:8545/?***')
    for (const secret of secrets) expect(text).not.toContain(secret)
  })

  it('answers the same in process (the desktop window over IPC) as over HTTP, for a viewer too', async () => {
    const here = await api.call({ method: 'GET', path: '/api/market' }, kiosk)
    expect(here).toEqual({ ok: true, status: 200, value: (await getMarket()).body })
  })

  it('a viewer signed in reads it; without a sign-in there is a 401 and no market data', async () => {
    const viewer = await getMarket({ cookie: await signIn('vic') })
    expect(viewer.status).toBe(200)
    expect(viewer.body).toMatchObject({ available: true, source: 'live' })
    for (const headers of [{}, { authorization: 'Bearer wrong-token' }, { cookie: 'gridmesh_session=forged' }] as Record<string, string>[]) {
      const answer = await rawGet(api.port, '/api/market', headers)
      expect(statusOf(answer), answer).toBe(401)
      expect(answer).not.toMatch(/ledger|broker|presence|0x/)
    }
  })

  it.each([
    ['a view that throws', () => view.answer.ledger = () => { throw new Error('journal gone: https://u:pw@rpc.example') }, /the live market node cannot answer: journal gone: https:\/\/\*\*\*@rpc.example/],
    ['a ledger that is not one', () => view.answer.ledger = () => undefined, /the live market node's ledger is malformed/],
    ['a ledger with a bad interval', () => view.answer.ledger = () => ({ ...fakeLiveLedger(nowMs), intervals: [{ ...fakeLiveLedger(nowMs).intervals[0]!, tradedWh: -5 }] }), /ledger is malformed: intervals\[0\]\.tradedWh: Too small/],
    ['a status with a negative counter', () => view.answer.status = () => ({ ...fakeLiveStatus(nowMs), counters: { ...fakeLiveStatus(nowMs).counters, forged: -1 } }), /status is malformed: counters\.forged/],
    ['a status with a field the contract does not have', () => view.answer.status = () => ({ ...fakeLiveStatus(nowMs), privateKey: '0x01' }), /status is malformed: .*privateKey/],
    ['a status that is a BigInt', () => view.answer.status = () => 5n, /status is malformed/],
  ])('%s: available false naming the fault, logged, and the server keeps serving', async (_name, breakIt, reason) => {
    breakIt()
    const { status, body, text } = await getMarket()
    expect(status).toBe(200)
    expect(body).toEqual({ available: false, reason: expect.stringMatching(reason) })
    expect(text).not.toMatch(/pw@|0x01/)
    expect(logged.at(-1)).toMatch(reason)
    expect((await fetch(`${api.url}/api/state`, { headers: bearer })).status).toBe(200)
  })
})

describe('market events on the WebSocket', () => {
  it('go to every signed-in stream (token, viewer session) as they come; none to a refused upgrade; the node is unsubscribed when the last stream closes', async () => {
    const owner = await openStream(bearer)
    const viewer = await openStream({ cookie: await signIn('vic') })
    expect(view.listenerCount()).toBe(1)
    const refused = await rawGet(api.port, '/api/events', upgradeHeaders)
    expect(statusOf(refused)).toBe(401)
    view.emit(event('commit', 'clearing committed', { tx: `0x${'ab'.repeat(32)}` }))
    view.emit(event('dropped', 'forged order from 0x99 (not registered)'))
    for (const s of [owner, viewer]) await until(() => s.got.filter((e) => e.type === 'market').length === 2, 'two market events')
    expect(owner.got.filter((e) => e.type === 'market')).toEqual([event('commit', 'clearing committed', { tx: `0x${'ab'.repeat(32)}` }), event('dropped', 'forged order from 0x99 (not registered)')])
    owner.ws.close()
    viewer.ws.close()
    await until(() => view.listenerCount() === 0, 'the node unsubscribed')
  })

  it('a malformed event is not sent (logged), credentials in one are removed, and the stream goes on', async () => {
    const s = await openStream(bearer)
    const bad: unknown[] = [{ ...event('commit', 'x'), kind: 'steal' }, { ...event('commit', 'x'), tx: 'not a hash' }, { ...event('order', 'x'), interval: 7n }, { ...event('order', 'x'), extra: 'field' }, null, 'market']
    for (const e of bad) view.emit(e as LiveMarketEvent)
    view.emit(event('error', 'broker mqtts://site-1:broker-secret@broker.example:8883 refused the connection'))
    view.emit(event('settle', 'x'.repeat(10_000)))
    await until(() => s.got.filter((e) => e.type === 'market').length === 2, 'the good events')
    const market = s.got.filter((e): e is LiveMarketEvent => e.type === 'market')
    expect(market.map((e) => e.kind)).toEqual(['error', 'settle'])
    expect(market[0]!.detail).toBe('broker mqtts://***@broker.example:8883 refused the connection')
    expect(market[1]!.detail).toHaveLength(500)
    expect(logged.join('\n')).toMatch(/live market event not sent \(malformed; 1 so far\): kind/)
    s.ws.close()
    await until(() => view.listenerCount() === 0, 'the node unsubscribed')
  })

  it('reach the in-process stream (the desktop window) too, and a subscriber that throws stops neither the node nor the others', async () => {
    const got: ApiEvent[] = []
    const unsubscribeGood = api.subscribe((e) => got.push(e))
    const unsubscribeBad = api.subscribe((e) => {
      if (e.type === 'market') throw new Error('window gone')
    })
    expect(() => view.emit(event('finalize', 'interval finalized'))).not.toThrow()
    expect(got.filter((e) => e.type === 'market')).toEqual([event('finalize', 'interval finalized')])
    expect(logged.at(-1)).toMatch(/a subscriber failed: window gone/)
    unsubscribeGood()
    unsubscribeBad()
    expect(view.listenerCount()).toBe(0)
  })

  it('a client that stops reading misses market events past 1 MB buffered, as it misses cycles, but still gets the alarm that follows', async () => {
    const s = await openStream(bearer)
    // the client's socket stops reading: the server's buffer for it grows once the kernel's are full
    const socket = (s.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    socket.pause()
    const emitted = 16_000
    for (let i = 0; i < emitted; i++) view.emit(event('dropped', `forged order ${i} ${'x'.repeat(480)}`))
    siteListeners.forEach((send) => send({ type: 'alarm', alarm: { id: 99, key: 'market:test' } } as unknown as ApiEvent))
    socket.resume()
    await until(() => s.got.some((e) => e.type === 'alarm'), 'the alarm')
    const market = s.got.filter((e) => e.type === 'market').length
    console.log(`back-pressure: ${market} of ${emitted} market events (about ${Math.round((emitted * 620) / 1e6)} MB) reached the paused client`)
    expect(market).toBeGreaterThan(0)
    expect(market).toBeLessThan(emitted)
    expect(s.got.at(-1)).toMatchObject({ type: 'alarm', alarm: { id: 99 } })
    s.ws.close()
    await until(() => view.listenerCount() === 0, 'the node unsubscribed')
  })
})

describe('GET /api/market without a live node', () => {
  it.each([
    ['a market section naming this site', { site: { id: 4 } }, /names site 4, but this process runs no live market node for it/],
    ['a market section without a site', { broker: {} }, /names no site \(market\.site: id and key files\), so this serve does not trade/],
  ])('%s: says why, no ledger made up', async (_name, market, reason) => {
    const services = createSiteDataServices({ site: { name: 'probe', devices: [], market } as unknown as SiteFile, drivers: [], store, controller: { latest: () => null } as never, now: () => nowMs })
    expect(await services.market()).toEqual({ available: false, reason: expect.stringMatching(reason) })
    expect(services.marketEvents).toBeNull()
  })
})
