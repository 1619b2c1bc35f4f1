import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ApiEvent, Principal } from './contract.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'

// The contract without its transport: the same answers as over HTTP, for a principal the
// caller vouches for (the desktop window over IPC), recorded in the audit as that principal.
const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({ load: null, pv: null }) as unknown as ReturnType<ApiBackend['forecast']>,
  alarms: () => [],
  acknowledgeAlarm: (id) => ({ id, state: 'acknowledged' }) as ReturnType<ApiBackend['acknowledgeAlarm']>,
  trend: () => {
    throw new Error('the store is gone')
  },
  subscribe: () => () => {},
}
const window: Principal = { name: 'local', role: 'installer', via: 'ipc' }
const viewer: Principal = { name: 'kiosk', role: 'viewer', via: 'ipc' }

let api: ApiServer
const logged: string[] = []
beforeAll(async () => {
  api = await createApiServer({ backend, site: { name: 'probe', timeZone: 'UTC', devices: ['pv1'] }, token: 'secret-token', log: (m) => logged.push(m) })
})
afterAll(() => api?.close())

const http = async (path: string, body?: unknown) => {
  const res = await fetch(`${api.url}${path}`, { method: body === undefined ? 'GET' : 'POST', headers: { authorization: 'Bearer secret-token', 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) })
  return { status: res.status, body: (await res.json()) as unknown }
}

describe('createApiDispatch (ApiServer.call): the contract in process', () => {
  it('answers a query as HTTP does', async () => {
    const here = await api.call({ method: 'GET', path: '/api/state' }, window)
    expect(here).toEqual({ ok: true, status: 200, value: (await http('/api/state')).body })
    expect(here).toMatchObject({ value: { site: { name: 'probe', devices: ['pv1'] } } })
  })

  it('validates a command with the contract, names the field as HTTP does, and records both in the audit as their principal', async () => {
    const bad = { type: 'acknowledgeAlarm', id: -3 }
    const here = await api.call({ method: 'POST', path: '/api/commands', body: bad }, window)
    const there = await http('/api/commands', bad)
    expect(there.status).toBe(400)
    expect(here).toEqual({ ok: false, status: 400, error: (there.body as { error: unknown }).error })
    expect(here).toMatchObject({ error: { field: 'id' } })

    expect(await api.call({ method: 'POST', path: '/api/commands', body: { type: 'acknowledgeAlarm', id: 4 } }, window)).toMatchObject({ ok: true, status: 200, value: { type: 'acknowledgeAlarm', alarm: { id: 4, state: 'acknowledged' } } })
    const audit = await api.call({ method: 'GET', path: '/api/audit', query: { limit: 3 } }, window)
    expect(audit).toMatchObject({
      ok: true,
      value: {
        entries: [
          { command: 'acknowledgeAlarm', who: 'local', via: 'ipc', outcome: 'ok' },
          { command: 'acknowledgeAlarm', who: 'local', via: 'token', outcome: 'refused' },
          { command: 'acknowledgeAlarm', who: 'local', via: 'ipc', outcome: 'refused', reason: expect.stringMatching(/id/) },
        ],
      },
    })
  })

  it('holds the roles: a viewer in process may read but not command (403, recorded)', async () => {
    expect(await api.call({ method: 'GET', path: '/api/plan' }, viewer)).toEqual({ ok: true, status: 200, value: { plan: null } })
    const refused = await api.call({ method: 'POST', path: '/api/commands', body: { type: 'acknowledgeAlarm', id: 1 } }, viewer)
    expect(refused).toMatchObject({ ok: false, status: 403, error: { message: expect.stringMatching(/viewer/) } })
    expect(await api.call({ method: 'GET', path: '/api/audit', query: { limit: 1 } }, window)).toMatchObject({ value: { entries: [{ who: 'kiosk', role: 'viewer', via: 'ipc', outcome: 'refused' }] } })
  })

  it('refuses a bad query, an unknown path and a wrong method with their status; a failing handler is a 500, logged', async () => {
    expect(await api.call({ method: 'GET', path: '/api/alarms', query: { limit: 'many' } }, window)).toMatchObject({ ok: false, status: 400, error: { message: expect.stringMatching(/^query: .*limit/) } })
    expect(await api.call({ method: 'GET', path: '/api/nothing' }, window)).toMatchObject({ ok: false, status: 404 })
    expect(await api.call({ method: 'POST', path: '/api/state', body: {} }, window)).toMatchObject({ ok: false, status: 405 })
    expect(await api.call({ method: 'GET', path: '/api/trend', query: { device: 'site', point: 'loadW', fromMs: 0, toMs: 1 } }, window)).toMatchObject({ ok: false, status: 500, error: { message: 'the store is gone' } })
    expect(logged.join('\n')).toMatch(/api: GET "\/api\/trend\?.*" \(in process\) failed: Error: the store is gone/)
  })

  it('streams events in process: hello first, then the audit of each command', async () => {
    const events: ApiEvent[] = []
    const unsubscribe = api.subscribe((e) => events.push(e))
    await api.call({ method: 'POST', path: '/api/commands', body: { type: 'acknowledgeAlarm', id: 9 } }, window)
    unsubscribe()
    await api.call({ method: 'POST', path: '/api/commands', body: { type: 'acknowledgeAlarm', id: 10 } }, window)
    expect(events).toMatchObject([{ type: 'hello', site: { name: 'probe' } }, { type: 'audit', entry: { command: 'acknowledgeAlarm', via: 'ipc', body: { id: 9 } } }])
    expect(events).toHaveLength(2)
  })
})
