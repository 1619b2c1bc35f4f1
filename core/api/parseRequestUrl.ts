import type { IncomingMessage } from 'node:http'
import { ApiRequestError } from './ApiRequestError.ts'

/**
 * The request target as a URL, or a 400. Only origin-form targets (`/api/state?x=1`) are
 * served: `//host/...` would make the path a host name (`//:99999/` is not even a URL),
 * and absolute-form is for proxies, which this server is not.
 */
export function parseRequestUrl(req: IncomingMessage): URL {
  const target = req.url ?? ''
  const shown = JSON.stringify(target.length > 120 ? `${target.slice(0, 120)}…` : target)
  if (!target.startsWith('/') || target.startsWith('//')) throw new ApiRequestError(400, `request target ${shown}: expected a path such as /api/state`)
  try {
    return new URL(target, 'http://local')
  } catch {
    throw new ApiRequestError(400, `request target ${shown}: not a valid path`)
  }
}
