// The HMI API under fuzz through a real server on loopback: command bodies, paths and
// queries, raw request heads and WebSocket messages. Every request gets an answer below
// 500 (a 500 is a handler's unexpected error; the fake backend has none), and the server
// keeps serving after each.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createApiServer, type ApiBackend, type ApiServer } from '../../core/api/createApiServer.ts'
import { connect } from 'node:net'
import { rawGet, statusOf } from '../support/rawHttp.ts'
import { fuzzSeed } from './fuzzSeed.ts'

const token = 'fuzz-token'
const bearer = { authorization: `Bearer ${token}` }
const alarm = { id: 1, state: 'acknowledged' }
const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({ load: null, pv: null }) as unknown as ReturnType<ApiBackend['forecast']>,
  alarms: () => [],
  acknowledgeAlarm: () => alarm as unknown as ReturnType<ApiBackend['acknowledgeAlarm']>,
  trend: () => [] as unknown as ReturnType<ApiBackend['trend']>,
  subscribe: () => () => {},
}

let api: ApiServer
const logged: string[] = []
beforeAll(async () => {
  api = await createApiServer({ backend, site: { name: 'fuzz', timeZone: 'UTC', devices: [] }, token, log: (m) => logged.push(m) })
})
afterAll(() => api?.close())

const runOptions = (numRuns: number) => ({ seed: fuzzSeed, numRuns, timeout: 15_000 })
const stillServing = async () => expect(statusOf(await rawGet(api.port, '/api/state', bearer))).toBe(200)
/** An answer from the server, and not one of its own failures. */
const expectHandled = (answer: string, what: string) => {
  const status = statusOf(answer)
  expect(status, `${what}: ${answer.slice(0, 300)}`).toBeGreaterThanOrEqual(200)
  expect(status, `${what}: ${answer.slice(0, 300)}`).toBeLessThan(500)
}

/** Sends raw bytes and half-closes, so a head the server waits on ends at once; resolves with all it answered. */
function sendAndEnd(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    socket.setEncoding('latin1')
    socket.on('data', (d: string) => (answer += d))
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)))
    socket.on('close', () => resolve(answer))
    socket.end(text, 'latin1')
  })
}

const commands = [
  { type: 'acknowledgeAlarm', id: 1 },
  { type: 'setMode', mode: 'auto' },
  { type: 'shelveAlarm', id: 2, durationMs: 60_000, reason: 'x' },
  { type: 'updateSettings', settings: { battery: { socMinPct: 10 } } },
  { type: 'simSetClock', speed: 10 },
]
const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom<unknown>(1e308, -1, 0, 2 ** 53 + 1, '', '__proto__', null, [], {}, 'x'.repeat(70_000)),
  fc.integer({ min: 1, max: 200 }).map((depth) => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) as unknown),
)
const body = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...commands), fc.string({ maxLength: 12 }), hostile).map(([c, key, value]) => JSON.stringify({ ...c, [key]: value })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...commands), fc.constantFrom('type', 'id', 'mode', 'settings', 'durationMs', 'speed'), hostile).map(([c, key, value]) => JSON.stringify({ ...c, [key]: value })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '{"type":', '\u0000', `{"type":"acknowledgeAlarm","id":1}${'x'.repeat(70_000)}`) },
)

describe('HMI API under fuzz (real server, raw HTTP and WebSocket)', { timeout: 120_000 }, () => {
  it('command bodies: answered below 500', async () => {
    process.stdout.write(`fuzz api-commands: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', ''), async (text, contentType) => {
        const answer = await rawGet(api.port, '/api/commands', { ...bearer, ...(contentType && { 'content-type': contentType }) }, 'POST', text)
        expectHandled(answer, `POST ${text.slice(0, 80)}`)
      }),
      runOptions(150),
    )
    await stillServing()
  })

  it('paths and queries, with and without the token: answered below 500', async () => {
    process.stdout.write(`fuzz api-paths: seed ${fuzzSeed}\n`)
    const segment = fc.oneof(fc.constantFrom('api', 'state', 'plan', 'forecast', 'alarms', 'trend', 'events', 'commands', '..', '.', '', '%2e%2e', '%00', '%ZZ', '%', '\u00e9', '//', 'devices', 'market'), fc.webSegment())
    const query = fc.dictionary(fc.constantFrom('device', 'point', 'fromMs', 'toMs', 'token', 'resolution', 'limit', 'format', 'x'), fc.oneof(fc.webQueryParameters(), fc.constantFrom('1e308', '-1', 'NaN', '9'.repeat(400), '%ZZ')))
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { maxLength: 5 }), query, fc.boolean(), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD'), async (segments, q, withToken, method) => {
        const search = Object.entries(q).map(([k, v]) => `${k}=${v}`).join('&')
        const path = `/${segments.join('/')}${search ? `?${search}` : ''}`.replace(/[\s\u0000-\u001f\u007f]/g, '')
        const answer = await rawGet(api.port, path, withToken ? bearer : {}, method)
        expectHandled(answer, `${method} ${path}`)
      }),
      runOptions(200),
    )
    await stillServing()
  })

  it('raw request heads: the server answers or closes, and keeps serving', async () => {
    process.stdout.write(`fuzz api-raw-heads: seed ${fuzzSeed}\n`)
    const head = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.tuple(fc.constantFrom('GET', 'POST', 'G\u0000T', ''), fc.string({ maxLength: 60 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/9.9', ''), fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), { maxLength: 6 })).map(
        ([method, path, version, headers]) => `${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}connection: close\r\n\r\n`,
      ),
    )
    await fc.assert(
      fc.asyncProperty(head, async (text) => {
        const answer = await sendAndEnd(api.port, text)
        if (answer !== '') expect(statusOf(answer), answer.slice(0, 200)).toBeLessThan(500)
      }),
      runOptions(150),
    )
    await stillServing()
  })

  it('WebSocket messages: the event stream closes on a message, never the server', async () => {
    process.stdout.write(`fuzz api-websocket: seed ${fuzzSeed}\n`)
    const message = fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 8192 }).map((b) => Buffer.from(b)), fc.constantFrom('{"type":"acknowledgeAlarm","id":1}', '', 'x'.repeat(5000)))
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 3 }), async (messages) => {
        const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/events?token=${token}`)
        const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
        ws.on('error', () => {})
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve())
          ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)))
        })
        for (const m of messages) ws.send(m)
        const code = await closed
        expect([1008, 1009, 1006, 1005]).toContain(code)
      }),
      runOptions(30),
    )
    await stillServing()
    expect(logged.filter((line) => / failed: /.test(line))).toEqual([])
  })

  it('a WebSocket message over 4 KB closes that stream with 1009, and the error is heard (it was uncaught and ended serve)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/events?token=${token}`)
    ws.on('error', () => {})
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)))
    await new Promise((resolve) => ws.once('open', resolve))
    ws.send(Buffer.alloc(5000))
    expect(await closed).toBe(1009)
    await stillServing()
    expect(logged).toContain('api: event stream: Max payload size exceeded')
  })
})
