import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawGet, statusOf, upgradeHeaders } from '../../test/support/rawHttp.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'

// The API server alone, with a backend that answers from constants, probed the way a
// hostile local process would: raw bytes over a socket.
const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({ load: null, pv: null }) as unknown as ReturnType<ApiBackend['forecast']>,
  alarms: () => [],
  acknowledgeAlarm: () => {
    throw new Error('not in this test')
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
