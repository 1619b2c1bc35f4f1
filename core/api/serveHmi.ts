import { createReadStream } from 'node:fs'
import { realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, resolve, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ApiRequestError } from './ApiRequestError.ts'

/** Where `npm run build` puts the HMI (renderer/dist). */
export const defaultHmiDir = fileURLToPath(new URL('../../renderer/dist', import.meta.url))

/**
 * The HMI's policy: scripts, styles, images and connections from this origin only (the
 * WebSocket included), no inline script or style attribute, no plugins, never framed
 * (clickjacking a control), no <base> rewrite, forms post only here.
 */
export const hmiContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

/** Content types of the built HMI's files, by extension (the desktop's app:// handler serves the same files). */
export const hmiContentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

export type ServeHmiOptions = {
  dir?: string
  /** Called before anything is served (the server's Host/Origin check: a DNS-rebinding page gets nothing, not even the HMI). */
  check?: () => void
}

function securityHeaders(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'content-security-policy': hmiContentSecurityPolicy,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  }
}

/**
 * Serves the built HMI (renderer/dist) for every GET/HEAD outside /api: `/` is
 * index.html, everything else a file under the directory or 404. Paths are decoded once
 * and refused if they hold a dot segment, a backslash, a NUL or a hidden name, and the
 * real path (symlinks followed) must stay inside the directory. Answers true when the
 * request was the HMI's, false for /api (the caller routes it).
 */
export async function serveHmi(req: IncomingMessage, res: ServerResponse, url: URL, options: ServeHmiOptions = {}): Promise<boolean> {
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return false
  options.check?.()
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new ApiRequestError(405, `${req.method} is not allowed on ${url.pathname}: the HMI's files are read-only`)
  const dir = resolve(options.dir ?? defaultHmiDir)
  let path: string
  try {
    path = decodeURIComponent(url.pathname)
  } catch {
    throw new ApiRequestError(400, `path ${JSON.stringify(url.pathname.slice(0, 200))}: bad percent-encoding`)
  }
  const segments = path.split('/').filter(Boolean)
  if (path.includes('\\') || path.includes('\0') || segments.some((s) => s.startsWith('.'))) throw new ApiRequestError(404, `no file ${JSON.stringify(path.slice(0, 200))} in the HMI`)
  const relative = segments.length === 0 ? 'index.html' : segments.join('/')
  let root: string
  try {
    root = await realpath(dir)
  } catch {
    const text = `The HMI is not built (no ${dir}). Run: npm run build\n`
    res.writeHead(503, { ...securityHeaders('text/plain; charset=utf-8'), 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
    res.end(req.method === 'HEAD' ? undefined : text)
    return true
  }
  let file: string
  try {
    file = await realpath(resolve(root, relative))
    if (!file.startsWith(root + sep) || !(await stat(file)).isFile()) throw new Error('outside or not a file')
  } catch {
    throw new ApiRequestError(404, `no file ${JSON.stringify(path.slice(0, 200))} in the HMI`)
  }
  const size = (await stat(file)).size
  const type = hmiContentTypes[extname(file).toLowerCase()] ?? 'application/octet-stream'
  // Vite names assets by content hash: they never change; index.html must be re-read to find new ones.
  const cache = relative.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'
  res.writeHead(200, { ...securityHeaders(type), 'content-length': size, 'cache-control': cache })
  if (req.method === 'HEAD') {
    res.end()
    return true
  }
  await new Promise<void>((done) => {
    const stream = createReadStream(file)
    // Headers are out: a read error can only cut the response short.
    stream.on('error', () => {
      res.destroy()
      done()
    })
    res.on('close', () => done())
    stream.pipe(res)
  })
  return true
}
