import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ApiRequestError } from './ApiRequestError.ts'

/** Who makes a request. The session token's holder is the site's local owner. */
export type Principal = { name: string; role: 'viewer' | 'operator' | 'installer' }

export type AuthorizeRequestParameters = {
  /** The session token from `<data>/api-token`. */
  token: string
  /** True for a WebSocket upgrade: the only request that may carry the token as `?token=`, since browsers cannot set headers on one. */
  upgrade: boolean
}

const tokenOwner: Principal = { name: 'local', role: 'installer' }

/**
 * The principal behind a request, or a 401. Run after `checkSameOrigin`. Today the only
 * credential is the session token as `Authorization: Bearer`; a token in the query of
 * a plain request is refused, since URLs end up in logs, history and Referer headers.
 */
export function authorizeRequest(req: IncomingMessage, url: URL, { token, upgrade }: AuthorizeRequestParameters): Principal {
  const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
  const queryToken = url.searchParams.get('token')
  if (queryToken !== null && !upgrade)
    throw new ApiRequestError(401, 'the session token as ?token= is accepted only on the WebSocket upgrade; send "Authorization: Bearer <token>"')
  if (matches(bearer ?? (upgrade ? queryToken : null), token)) return tokenOwner
  throw new ApiRequestError(401, 'missing or wrong session token: send "Authorization: Bearer <token>" (printed when the server started)')
}

function matches(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}
