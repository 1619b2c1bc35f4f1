import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { ApiError } from './ApiError.ts'
import { createHttpTransport } from './createHttpTransport.ts'
import type { ConnectionStatus } from './Transport.ts'

// A WebSocket stand-in the test drives: every construction is one connection attempt.
class FakeSocket {
  static made: FakeSocket[] = []
  onopen: (() => void) | null = null
  onmessage: ((m: { data: string }) => void) | null = null
  onclose: ((e: { code: number; reason: string }) => void) | null = null
  closed = false
  constructor(readonly url: string) {
    FakeSocket.made.push(this)
  }
  close() {
    this.closed = true
  }
}

const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } })

beforeEach(() => {
  FakeSocket.made = []
  vi.useFakeTimers()
})
afterEach(() => vi.useRealTimers())

describe('createHttpTransport', () => {
  it('reconnects by itself with a growing delay, and resets the delay once connected', () => {
    const t = createHttpTransport({ baseUrl: 'http://127.0.0.1:8700', WebSocket: FakeSocket as never, fetch: vi.fn() })
    const statuses: ConnectionStatus[] = []
    const events: unknown[] = []
    const stop = t.subscribe((e) => events.push(e), (s) => statuses.push(s))
    expect(FakeSocket.made[0]!.url).toBe('ws://127.0.0.1:8700/api/events')
    FakeSocket.made[0]!.onclose!({ code: 1006, reason: '' })
    expect(statuses.at(-1)).toMatchObject({ state: 'offline', retryInMs: 500, reason: 'connection lost' })
    vi.advanceTimersByTime(499)
    expect(FakeSocket.made).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(FakeSocket.made).toHaveLength(2)
    FakeSocket.made[1]!.onclose!({ code: 1006, reason: '' })
    expect(statuses.at(-1)!.retryInMs).toBe(1000)
    vi.advanceTimersByTime(1000)
    FakeSocket.made[2]!.onopen!()
    expect(statuses.at(-1)!.state).toBe('online')
    FakeSocket.made[2]!.onmessage!({ data: '{"type":"cycle"}' })
    FakeSocket.made[2]!.onmessage!({ data: 'not json' })
    expect(events).toEqual([{ type: 'cycle' }])
    FakeSocket.made[2]!.onclose!({ code: 1001, reason: 'server stopping' })
    expect(statuses.at(-1)).toMatchObject({ state: 'offline', retryInMs: 500, reason: 'server stopping' })
    stop()
    vi.advanceTimersByTime(60_000)
    expect(FakeSocket.made).toHaveLength(3)
  })

  it('puts a bearer token on requests and only on the WebSocket upgrade as ?token=', async () => {
    const fetch = vi.fn(async () => json(200, { site: {} }))
    const t = createHttpTransport({ baseUrl: 'http://h:1', token: 'tok', WebSocket: FakeSocket as never, fetch })
    await t.query('state', { a: 1, b: undefined })
    expect(fetch).toHaveBeenCalledWith('http://h:1/api/state?a=1', expect.objectContaining({ headers: { authorization: 'Bearer tok' }, credentials: 'same-origin' }))
    t.subscribe(() => {}, () => {})
    expect(FakeSocket.made[0]!.url).toBe('ws://h:1/api/events?token=tok')
  })

  it('turns an error answer into an ApiError with the status, name, message and field', async () => {
    const t = createHttpTransport({ baseUrl: 'http://h:1', WebSocket: FakeSocket as never, fetch: async () => json(400, { error: { name: 'ApiRequestError', message: 'grid.maxImportW: too small', field: 'grid.maxImportW' } }) })
    const error = await t.command({ type: 'updateSettings' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 400, errorName: 'ApiRequestError', message: 'grid.maxImportW: too small', field: 'grid.maxImportW', notAvailable: false })
    const down = createHttpTransport({ baseUrl: 'http://h:1', WebSocket: FakeSocket as never, fetch: async () => { throw new TypeError('Failed to fetch') } })
    expect(await down.query('state').catch((e: unknown) => e)).toMatchObject({ status: 0, errorName: 'NetworkError' })
    const missing = createHttpTransport({ baseUrl: 'http://h:1', WebSocket: FakeSocket as never, fetch: async () => new Response('<html>', { status: 404 }) })
    expect(await missing.query('market').catch((e: unknown) => e)).toMatchObject({ status: 404, notAvailable: true })
  })

  it('reads a 401 from /api/session as "not signed in", not as an error', async () => {
    const t = createHttpTransport({ baseUrl: 'http://h:1', WebSocket: FakeSocket as never, fetch: async () => json(401, { error: { name: 'ApiRequestError', message: 'not signed in' } }) })
    expect(await t.session()).toBeNull()
  })
})
