import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createStore, type Store } from '../store/createStore.ts'
import { hashPassword } from './auth/hashPassword.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'

// An event stream opened with a session cookie ends with the session.
const dir = mkdtempSync(join(tmpdir(), 'gm-stream-'))
const backend: ApiBackend = { latest: () => null, plan: () => null, forecast: () => ({}) as never, alarms: () => [], acknowledgeAlarm: () => ({}) as never, trend: () => [], subscribe: () => () => {} }
let store: Store
let api: ApiServer

beforeAll(async () => {
  store = createStore({ path: join(dir, 'store.db') })
  for (const name of ['ann', 'bob']) store.users.add({ name, role: 'viewer', passwordHash: await hashPassword(`${name}-password`, { N: 1024, r: 8, p: 1 }), createdAtMs: 0 })
  api = await createApiServer({ backend, site: { name: 's', timeZone: 'UTC', devices: [] }, people: store, sessionRecheckMs: 50 })
})
afterAll(async () => {
  await api?.close()
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function signIn(name: string) {
  const res = await fetch(`${api.url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, password: `${name}-password` }) })
  return res.headers.get('set-cookie')!.split(';')[0]!
}
async function openStream(cookie: string) {
  const ws = new WebSocket(`${api.url.replace('http', 'ws')}/api/events`, { headers: { cookie } })
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })))
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject))
  return { ws, closed }
}

it('is closed 4401 after logout and after the account is removed; another session streams on', async () => {
  const ann = await signIn('ann')
  const bob = await signIn('bob')
  const first = await openStream(ann)
  const other = await openStream(bob)
  await fetch(`${api.url}/api/logout`, { method: 'POST', headers: { cookie: ann } })
  expect(await first.closed).toEqual({ code: 4401, reason: 'session ended: sign in again' })
  const again = await openStream(await signIn('ann'))
  store.users.remove('ann')
  expect((await again.closed).code).toBe(4401)
  await new Promise((r) => setTimeout(r, 200))
  expect(other.ws.readyState).toBe(WebSocket.OPEN)
  other.ws.close()
})
