// Inputs for fuzzing the HMI API through a real server, shared by test/fuzz/apiServer.fuzz.test.ts
// and bench/fuzz.bench.ts: command bodies, paths and queries, raw request heads,
// WebSocket messages, and a backend that answers from constants.
import { connect } from 'node:net'
import fc from 'fast-check'
import type { ApiBackend } from '../../core/api/createApiServer.ts'

export const token = 'fuzz-token'
export const bearer = { authorization: `Bearer ${token}` }
const alarm = { id: 1, state: 'acknowledged' }
export const backend: ApiBackend = {
  latest: () => null,
  plan: () => null,
  forecast: () => ({ load: null, pv: null }) as unknown as ReturnType<ApiBackend['forecast']>,
  alarms: () => [],
  acknowledgeAlarm: () => alarm as unknown as ReturnType<ApiBackend['acknowledgeAlarm']>,
  trend: () => [] as unknown as ReturnType<ApiBackend['trend']>,
  subscribe: () => () => {},
}

/** Sends raw bytes and half-closes, so a head the server waits on ends at once; resolves with all it answered. */
export function sendAndEnd(port: number, text: string): Promise<string> {
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
export const commandBody = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...commands), fc.string({ maxLength: 12 }), hostile).map(([c, key, value]) => JSON.stringify({ ...c, [key]: value })) },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...commands), fc.constantFrom('type', 'id', 'mode', 'settings', 'durationMs', 'speed'), hostile).map(([c, key, value]) => JSON.stringify({ ...c, [key]: value })) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom('', '{', '[]', 'null', '{"type":', '\u0000', `{"type":"acknowledgeAlarm","id":1}${'x'.repeat(70_000)}`) },
)

/** A path of API-like and hostile segments. */
export const pathSegment = fc.oneof(fc.constantFrom('api', 'state', 'plan', 'forecast', 'alarms', 'trend', 'events', 'commands', '..', '.', '', '%2e%2e', '%00', '%ZZ', '%', '\u00e9', '//', 'devices', 'market'), fc.webSegment())
export const pathQuery = fc.dictionary(fc.constantFrom('device', 'point', 'fromMs', 'toMs', 'token', 'resolution', 'limit', 'format', 'x'), fc.oneof(fc.webQueryParameters(), fc.constantFrom('1e308', '-1', 'NaN', '9'.repeat(400), '%ZZ')))

/** A path and query string as a client writes it on the request line. */
export const pathAndQuery = fc.tuple(fc.array(pathSegment, { maxLength: 5 }), pathQuery).map(([segments, q]) => {
  const search = Object.entries(q).map(([k, v]) => `${k}=${v}`).join('&')
  return `/${segments.join('/')}${search ? `?${search}` : ''}`.replace(/[\s\u0000-\u001f\u007f]/g, '')
})

/** A request head: noise, or a request line and headers of any shape. */
export const requestHead = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.tuple(fc.constantFrom('GET', 'POST', 'G\u0000T', ''), fc.string({ maxLength: 60 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2', 'HTTP/9.9', ''), fc.array(fc.tuple(fc.string({ maxLength: 20 }), fc.string({ maxLength: 40 })), { maxLength: 6 })).map(
    ([method, path, version, headers]) => `${method} ${path} ${version}\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}connection: close\r\n\r\n`,
  ),
)

/** What a client may send on the event stream. */
export const wsMessage = fc.oneof(fc.string({ maxLength: 200 }), fc.uint8Array({ maxLength: 8192 }).map((b) => Buffer.from(b)), fc.constantFrom('{"type":"acknowledgeAlarm","id":1}', '', 'x'.repeat(5000)))
