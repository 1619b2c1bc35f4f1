import { describe, expect, it } from 'vitest'
import { ApiError } from './ApiError.ts'
import { createIpcTransport, type GridmeshBridge, type IpcAnswer } from './createIpcTransport.ts'

function bridge(answer: IpcAnswer) {
  const calls: unknown[][] = []
  const b: GridmeshBridge = {
    query: async (...a) => (calls.push(['query', ...a]), answer),
    command: async (...a) => (calls.push(['command', ...a]), answer),
    download: async (...a) => (calls.push(['download', ...a]), answer),
    session: async () => answer,
    subscribe: (onEvent, onStatus) => {
      onStatus({ state: 'online', reason: null })
      onEvent({ type: 'hello' })
      return () => calls.push(['unsubscribe'])
    },
  }
  return { b, calls }
}

describe('createIpcTransport', () => {
  it('answers values and drops unset parameters', async () => {
    const { b, calls } = bridge({ ok: true, value: { plan: null } })
    expect(await createIpcTransport(b).query('trend', { device: 'm', point: undefined, fromMs: 1 })).toEqual({ plan: null })
    expect(calls).toEqual([['query', 'trend', { device: 'm', fromMs: 1 }]])
  })

  it("answers the 'session' query from the bridge's session, not as an API query", async () => {
    const { b, calls } = bridge({ ok: true, value: { user: { name: 'local', role: 'installer' }, expiresAtMs: null } })
    expect(await createIpcTransport(b).query('session')).toMatchObject({ user: { name: 'local' } })
    expect(calls).toEqual([])
  })

  it('turns a refusal into the ApiError the views know (status, name, field)', async () => {
    const { b } = bridge({ ok: false, error: { status: 400, name: 'IpcRequestError', message: 'command: grid.maxImportW: too big', field: 'grid.maxImportW' } })
    const error = await createIpcTransport(b).command({ type: 'updateSettings', grid: { maxImportW: 1e12 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ApiError)
    expect(error).toMatchObject({ status: 400, errorName: 'IpcRequestError', field: 'grid.maxImportW' })
  })

  it('passes events and status through, and unsubscribes', () => {
    const { b, calls } = bridge({ ok: true, value: null })
    const events: unknown[] = []
    const statuses: string[] = []
    const off = createIpcTransport(b).subscribe((e) => events.push(e), (s) => statuses.push(s.state))
    off()
    expect(events).toEqual([{ type: 'hello' }])
    expect(statuses).toEqual(['online'])
    expect(calls).toEqual([['unsubscribe']])
  })
})
