import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawGet, rawHttp } from '../../test/support/rawHttp.ts'
import { ApiRequestError } from './ApiRequestError.ts'
import { hmiContentSecurityPolicy, serveHmi } from './serveHmi.ts'

// A dist folder with the HMI, and beside it what must never be served: a secret next to
// the folder, a hidden file inside it, and a symlink inside that points outside.
let server: Server
let port: number
let served: string[] = []
const base = mkdtempSync(join(tmpdir(), 'hmi-'))
const dist = join(base, 'dist')

beforeAll(async () => {
  mkdirSync(join(dist, 'assets'), { recursive: true })
  writeFileSync(join(dist, 'index.html'), '<!doctype html><title>HMI</title>')
  writeFileSync(join(dist, 'assets', 'index-abc.js'), 'console.log(1)')
  writeFileSync(join(dist, 'assets', 'style-abc.css'), 'body{}')
  writeFileSync(join(dist, '.env'), 'SECRET=hidden')
  writeFileSync(join(base, 'secret.txt'), 'SECRET=outside')
  symlinkSync(join(base, 'secret.txt'), join(dist, 'assets', 'link.txt'))
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://local')
    const check = () => {
      // What createApiServer passes: its Host/Origin check (a DNS-rebinding page gets nothing).
      if (req.headers.host !== `127.0.0.1:${port}`) throw new ApiRequestError(421, `Host '${req.headers.host}' is not this server`)
    }
    Promise.resolve().then(() => serveHmi(req, res, url, { dir: dist, check })).then(
      (mine) => {
        if (mine) served.push(url.pathname)
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"api":true}')
      },
      (error: ApiRequestError) => res.writeHead(error.status ?? 500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error.shortMessage })),
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d+)/.exec(response)?.[1])

describe('serveHmi', () => {
  it('serves index.html at / with the CSP, nosniff and no framing', async () => {
    const r = await rawGet(port, '/')
    expect(statusOf(r)).toBe(200)
    expect(r).toMatch(/content-type: text\/html; charset=utf-8/i)
    expect(r).toContain(`content-security-policy: ${hmiContentSecurityPolicy}`)
    expect(hmiContentSecurityPolicy).toContain("frame-ancestors 'none'")
    expect(hmiContentSecurityPolicy).not.toContain('unsafe-inline')
    expect(r).toMatch(/x-content-type-options: nosniff/i)
    expect(r).toContain('<title>HMI</title>')
  })

  it('names each asset type and caches hashed assets for good', async () => {
    const js = await rawGet(port, '/assets/index-abc.js')
    expect(js).toMatch(/content-type: text\/javascript/i)
    expect(js).toMatch(/cache-control: public, max-age=31536000, immutable/i)
    expect(await rawGet(port, '/assets/style-abc.css')).toMatch(/content-type: text\/css/i)
  })

  it('leaves /api to the API', async () => {
    served = []
    expect(await rawGet(port, '/api/state')).toContain('{"api":true}')
    expect(served).toEqual([])
  })

  it.each([
    '/../secret.txt',
    '/assets/../../secret.txt',
    '/%2e%2e/secret.txt',
    '/assets/%2e%2e/%2e%2e/secret.txt',
    '/assets/..%2f..%2fsecret.txt',
    '/assets/..%5c..%5csecret.txt',
    '/.env',
    '/%2eenv',
    '/assets/link.txt',
    '/assets/index-abc.js%00.html',
    '/assets',
  ])('refuses %s without leaking anything outside the folder', async (path) => {
    const r = await rawHttp(port, `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`)
    expect(statusOf(r)).toBe(404)
    expect(r).not.toContain('SECRET')
  })

  it('serves nothing, not even index.html, to a Host that is not this server', async () => {
    const r = await rawGet(port, '/', { host: 'rebound.example:80' })
    expect(statusOf(r)).toBe(421)
    expect(r).not.toContain('<title>HMI</title>')
  })

  it('refuses bad percent-encoding and writes', async () => {
    expect(statusOf(await rawGet(port, '/%E0%A4%A'))).toBe(400)
    expect(statusOf(await rawGet(port, '/index.html', {}, 'POST', 'x'))).toBe(405)
  })

  it('says how to build when the HMI is not built', async () => {
    const res = { head: 0, body: '', writeHead(status: number) { this.head = status; return this }, end(text?: string) { this.body = text ?? '' } }
    await serveHmi({ method: 'GET' } as never, res as never, new URL('http://local/'), { dir: join(base, 'missing') })
    expect(res.head).toBe(503)
    expect(res.body).toContain('npm run build')
  })
})
