import { readFile, realpath } from 'node:fs/promises'
import { extname, resolve, sep } from 'node:path'
import { hmiContentTypes } from '../core/api/serveHmi.ts'
import { appContentSecurityPolicy } from './appContentSecurityPolicy.ts'

/** Where app:// paths come from: a URL prefix and the folder it maps to (the first match wins). */
export type AppRoots = { prefix: string; dir: string }[]

const answer = (status: number, text: string) => new Response(text, { status, headers: { 'content-type': 'text/plain; charset=utf-8', 'content-security-policy': appContentSecurityPolicy } })

/**
 * The app:// protocol's handler: a file of the built renderer (or the site manager's page)
 * with the app's CSP, for GET only. A path that leaves its folder (`..`, an encoded slash,
 * a symlink out) is a 404, and so is any host but the app's own.
 */
export async function serveAppFile(request: Request, roots: AppRoots, host = 'gridmesh'): Promise<Response> {
  if (request.method !== 'GET') return answer(405, `${request.method} is not allowed`)
  const url = new URL(request.url)
  if (url.host !== host) return answer(404, 'not found')
  let path: string
  try {
    path = decodeURIComponent(url.pathname)
  } catch {
    return answer(400, 'bad path')
  }
  if (path.includes('\0') || path.includes('\\')) return answer(404, 'not found')
  if (path === '/' || path === '') path = '/index.html'
  const root = roots.find((r) => path.startsWith(r.prefix))
  if (!root) return answer(404, 'not found')
  const dir = resolve(root.dir)
  const file = resolve(dir, `.${path.slice(root.prefix.length - 1)}`)
  if (!file.startsWith(dir + sep)) return answer(404, 'not found')
  try {
    // A symlink inside the folder must not lead out of it.
    const real = await realpath(file)
    const realDir = await realpath(dir)
    if (!real.startsWith(realDir + sep)) return answer(404, 'not found')
    const body = await readFile(real)
    return new Response(body, {
      status: 200,
      headers: { 'content-type': hmiContentTypes[extname(real)] ?? 'application/octet-stream', 'content-security-policy': appContentSecurityPolicy, 'x-content-type-options': 'nosniff', 'cache-control': 'no-cache' },
    })
  } catch {
    return answer(404, 'not found')
  }
}
