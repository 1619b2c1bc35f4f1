import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { request } from 'node:https'
import { request as plainRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createStore, type Store } from '../store/createStore.ts'
import { hashPassword } from './auth/hashPassword.ts'
import { createApiServer, type ApiBackend, type ApiServer } from './createApiServer.ts'

// TLS and binding beyond loopback, with a self-signed certificate made here by openssl.
const dir = mkdtempSync(join(tmpdir(), 'gm-tls-'))
const backend: ApiBackend = { latest: () => null, plan: () => null, forecast: () => ({}) as never, alarms: () => [], acknowledgeAlarm: () => ({}) as never, trend: () => [], subscribe: () => () => {} }
let store: Store
let api: ApiServer
let cert: Buffer

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
  cert = readFileSync(join(dir, 'cert.pem'))
  store = createStore({ path: join(dir, 'store.db') })
  store.users.add({ name: 'ann', role: 'operator', passwordHash: await hashPassword('ann-password', { N: 1024, r: 8, p: 1 }), createdAtMs: 0 })
  api = await createApiServer({ backend, site: { name: 'tls', timeZone: 'UTC', devices: [] }, people: store, tls: { cert, key: readFileSync(join(dir, 'key.pem')) } })
})
afterAll(async () => {
  await api?.close()
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

function https(path: string, init: { method?: string; body?: string; cookie?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${api.url}${path}`, { method: init.method ?? 'GET', ca: cert, headers: { 'content-type': 'application/json', ...(init.cookie && { cookie: init.cookie }) } }, (res) => {
      let body = ''
      res.on('data', (c) => (body += c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

it('serves https with the certificate, and the session cookie is Secure', async () => {
  expect(api.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
  const login = await https('/api/login', { method: 'POST', body: JSON.stringify({ name: 'ann', password: 'ann-password' }) })
  expect(login.status).toBe(200)
  const setCookie = login.headers['set-cookie']![0]!
  expect(setCookie).toMatch(/; HttpOnly; SameSite=Strict; Path=\/; Max-Age=\d+; Secure$/)
  const session = await https('/api/session', { cookie: setCookie.split(';')[0] })
  expect(JSON.parse(session.body)).toMatchObject({ user: { name: 'ann', role: 'operator' } })
})

it('plain http on the TLS port gets no answer from the API, and the server keeps serving', async () => {
  const plain = await new Promise<string>((resolve) => {
    const req = plainRequest(`${api.url.replace('https', 'http')}/api/state`, (res) => resolve(`status ${res.statusCode}`))
    req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code ?? e.message}`))
    req.end()
  })
  expect(plain).not.toBe('status 200')
  expect((await https('/api/session')).status).toBe(401)
})

it('a host beyond loopback needs allowRemote, and without TLS it warns', async () => {
  await expect(createApiServer({ backend, site: { name: 'x', timeZone: 'UTC', devices: [] }, host: '0.0.0.0' })).rejects.toThrow(/--host 0\.0\.0\.0 is reachable from other machines; pass --allow-remote/)
  const logs: string[] = []
  const open = await createApiServer({ backend, site: { name: 'x', timeZone: 'UTC', devices: [] }, host: '0.0.0.0', allowRemote: true, hostNames: ['gridmesh.local'], log: (m) => logs.push(m) })
  try {
    expect(logs.join('\n')).toMatch(/WARNING: the API listens on 0\.0\.0\.0 without TLS/)
    // the Host a client uses must be one of the server's names
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = plainRequest({ host: '127.0.0.1', port: open.port, path: '/api/state', headers: { host } }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        })
        req.on('error', reject)
        req.end()
      })
    expect(await status(`gridmesh.local:${open.port}`)).toBe(401)
    expect(await status(`evil.example:${open.port}`)).toBe(421)
  } finally {
    await open.close()
  }
})
