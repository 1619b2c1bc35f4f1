// The HMI API under fuzz through a real server on loopback: command bodies, paths and
// queries, raw request heads and WebSocket messages. Every request gets an answer below
// 500 (a 500 is a handler's unexpected error; the fake backend has none), and the server
// keeps serving after each.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createApiServer, type ApiServer } from '../../core/api/createApiServer.ts'
import { backend, bearer, commandBody, pathAndQuery, requestHead, sendAndEnd, token, wsMessage } from './apiFuzzInputs.ts'
import { rawGet, statusOf } from '../support/rawHttp.ts'
import { fuzzSeed } from './fuzzSeed.ts'

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

describe('HMI API under fuzz (real server, raw HTTP and WebSocket)', { timeout: 120_000 }, () => {
  it('command bodies: answered below 500', async () => {
    process.stdout.write(`fuzz api-commands: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(commandBody, fc.constantFrom('application/json', 'text/plain', 'application/json; charset=latin1', ''), async (text, contentType) => {
        const answer = await rawGet(api.port, '/api/commands', { ...bearer, ...(contentType && { 'content-type': contentType }) }, 'POST', text)
        expectHandled(answer, `POST ${text.slice(0, 80)}`)
      }),
      runOptions(150),
    )
    await stillServing()
  })

  it('paths and queries, with and without the token: answered below 500', async () => {
    process.stdout.write(`fuzz api-paths: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(pathAndQuery, fc.boolean(), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD'), async (path, withToken, method) => {
        const answer = await rawGet(api.port, path, withToken ? bearer : {}, method)
        expectHandled(answer, `${method} ${path}`)
      }),
      runOptions(200),
    )
    await stillServing()
  })

  it('raw request heads: the server answers or closes, and keeps serving', async () => {
    process.stdout.write(`fuzz api-raw-heads: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(requestHead, async (text) => {
        const answer = await sendAndEnd(api.port, text)
        if (answer !== '') expect(statusOf(answer), answer.slice(0, 200)).toBeLessThan(500)
      }),
      runOptions(150),
    )
    await stillServing()
  })

  it('WebSocket messages: the event stream closes on a message, never the server', async () => {
    process.stdout.write(`fuzz api-websocket: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(fc.array(wsMessage, { minLength: 1, maxLength: 3 }), async (messages) => {
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
