import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawGet, statusOf, upgradeHeaders } from '../../test/support/rawHttp.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'

// The API server alone, with a backend that answers from constants, probed the way a
// hostile local process would: raw bytes over a socket.
const acknowledged: { id: number; by: string }[] = []
const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({ load: null, pv: null }) as unknown as ReturnType<ApiBackend['forecast']>,
  alarms: () => [],
  acknowledgeAlarm: (id, by) => {
    acknowledged.push({ id, by })
    return { id, state: 'acknowledged' } as ReturnType<ApiBackend['acknowledgeAlarm']>
  },
  trend: () => {
    throw new Error('the store is gone')
  },
  subscribe: () => () => {},
}

let api: ApiServer
const logged: string[] = []
beforeAll(async () => {
  api = await createApiServer({ backend, site: { name: 'probe', timeZone: 'UTC', devices: [] }, token: 'secret-token', log: (m) => logged.push(m) })
})
afterAll(() => api?.close())

const get = (path: string, headers: Record<string, string> = {}) => rawGet(api.port, path, headers)
const upgrade = upgradeHeaders

describe('createApiServer: every request path is inside one error boundary', () => {
  it.each([
    ['GET //:99999/ (an unparseable URL), no token', '//:99999/', {}],
    ['the same as a WebSocket upgrade', '//:99999/', upgrade],
    ['an unparseable URL with the token', '//:99999/api/state', { authorization: 'Bearer secret-token' }],
    ['a bracketed host that is not one', '//[::1/api/events', upgrade],
  ])('%s answers 400 and the server keeps serving', async (_name, path, headers) => {
    const answer = await get(path, headers)
    expect(statusOf(answer), answer).toBe(400)
    const next = await get('/api/state', { authorization: 'Bearer secret-token' })
    expect(statusOf(next), next).toBe(200)
    expect(next).toContain('"name":"probe"')
  })

  it('a handler that throws is a 500 naming the error, logged with its stack, and the server keeps serving', async () => {
    const answer = await get('/api/trend?device=site&point=loadW&fromMs=0&toMs=1', { authorization: 'Bearer secret-token' })
    expect(statusOf(answer), answer).toBe(500)
    expect(answer).toContain('"message":"the store is gone"')
    expect(logged.join('\n')).toMatch(/api: GET "\/api\/trend\?.*" failed: Error: the store is gone\n\s+at /)
    expect(statusOf(await get('/api/state', { authorization: 'Bearer secret-token' }))).toBe(200)
  })
})

describe('createApiServer: Origin and where the token may be', () => {
  const bearer = { authorization: 'Bearer secret-token' }
  const ackBody = '{"type":"acknowledgeAlarm","id":7,"by":"mallory"}'
  const post = (headers: Record<string, string>) => rawGet(api.port, '/api/commands', { 'content-type': 'application/json', ...headers }, 'POST', ackBody)

  it('refuses a command from a foreign Origin by name and does not run it', async () => {
    for (const origin of ['http://evil.example', `http://evil.example:${api.port}`, 'null', `https://127.0.0.1:${api.port}`, `http://127.0.0.1:${api.port + 1}`]) {
      const answer = await post({ ...bearer, origin })
      expect({ origin, status: statusOf(answer) }).toEqual({ origin, status: 403 })
      expect(answer).toContain(`"message":"Origin '${origin}' is not this server (http://127.0.0.1:${api.port})`)
    }
    expect(acknowledged).toEqual([])
  })

  it('runs a command with its own Origin (either host name) or none (curl, scripts)', async () => {
    for (const origin of [`http://127.0.0.1:${api.port}`, `http://localhost:${api.port}`, undefined]) {
      const answer = await post({ ...bearer, ...(origin && { origin }), ...(origin?.includes('localhost') && { host: `localhost:${api.port}` }) })
      expect({ origin, status: statusOf(answer) }).toEqual({ origin, status: 200 })
    }
    expect(acknowledged).toHaveLength(3)
  })

  it('refuses a WebSocket upgrade from a foreign Origin even with the token', async () => {
    const answer = await get('/api/events?token=secret-token', { ...upgradeHeaders, origin: 'http://evil.example' })
    expect(statusOf(answer), answer).toBe(403)
    const own = await get('/api/events?token=secret-token', { ...upgradeHeaders, origin: `http://127.0.0.1:${api.port}` })
    expect(statusOf(own), own).toBe(101)
  })

  it('takes the token from the query only on the WebSocket upgrade', async () => {
    const answer = await get('/api/state?token=secret-token')
    expect(statusOf(answer), answer).toBe(401)
    expect(answer).toContain('?token= is accepted only on the WebSocket upgrade')
    expect(statusOf(await get('/api/state', bearer))).toBe(200)
    expect(statusOf(await get('/api/events?token=secret-token', upgradeHeaders))).toBe(101)
    expect(statusOf(await get('/api/events', { ...upgradeHeaders, ...bearer }))).toBe(101)
  })
})

describe('createApiServer: deeply nested JSON', () => {
  it.each([
    ['a 60 KB nested array', `${'['.repeat(30_000)}${']'.repeat(30_000)}`],
    ['a command whose id is nested 10,000 deep', `{"type":"acknowledgeAlarm","id":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`],
    ['nesting inside a string does not count, but the real nesting does', `{"by":"${'['.repeat(1000)}","x":${'['.repeat(100)}${']'.repeat(100)}}`],
  ])('%s is a 400 naming the depth, not a 500', async (_name, body) => {
    const answer = await rawGet(api.port, '/api/commands', { authorization: 'Bearer secret-token', 'content-type': 'application/json' }, 'POST', body)
    expect(statusOf(answer), answer.slice(0, 500)).toBe(400)
    expect(answer).toMatch(/"message":"request body: nested deeper than 32 levels at character \d+"/)
    expect(logged.filter((m) => /failed/.test(m) && !m.includes('the store is gone'))).toEqual([])
  })

  it('a shallow but wrong body is described without echoing all of it', async () => {
    const body = JSON.stringify({ type: 'acknowledgeAlarm', id: Array.from({ length: 2000 }, (_, i) => [i, [i, [i]]]) })
    const answer = await rawGet(api.port, '/api/commands', { authorization: 'Bearer secret-token', 'content-type': 'application/json' }, 'POST', body)
    expect(statusOf(answer), answer.slice(0, 500)).toBe(400)
    expect(answer).toContain('request body: id: expected number, received array, got [[0,[0,[0]]],[1,[1,[1]]]')
    expect(answer.length).toBeLessThan(1000)
  })
})
