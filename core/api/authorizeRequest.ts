import { timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import { ApiRequestError } from './ApiRequestError.ts'
import type { Authenticator } from './auth/createAuthenticator.ts'
import type { Principal } from './contract.ts'

export type { Principal }

export type AuthorizeRequestParameters = {
  /** Who a request's credentials name (core/api/auth/createAuthenticator.ts); or only the local owner's `token`. */
  auth?: Authenticator
  token?: string
  /** True for a WebSocket upgrade: the only request that may carry the token as `?token=`, since browsers cannot set headers on one. */
  upgrade: boolean
}

/**
 * The principal behind a request, or a 401. Run after `checkSameOrigin`. Credentials are
 * the local owner's token as `Authorization: Bearer` or a session cookie (a browser
 * signed in with POST /api/login or the one-time link; it also opens the event stream);
 * a token in the query of a plain request is refused, since URLs end up in logs, history
 * and Referer headers.
 */
export function authorizeRequest(req: IncomingMessage, url: URL, { auth = tokenOnly(''), token, upgrade }: AuthorizeRequestParameters): Principal {
  const queryToken = url.searchParams.get('token')
  if (queryToken !== null && !upgrade)
    throw new ApiRequestError(401, 'the session token as ?token= is accepted only on the WebSocket upgrade; send "Authorization: Bearer <token>"')
  const authorization = req.headers.authorization ?? (upgrade && queryToken ? `Bearer ${queryToken}` : undefined)
  const principal = (token !== undefined ? tokenOnly(token) : auth).authenticate({ authorization, cookie: req.headers.cookie })
  if (principal) return principal
  throw new ApiRequestError(401, 'not signed in (missing or wrong session token or cookie): sign in with POST /api/login or the link printed at start, or send "Authorization: Bearer <token>" (the token is in <data>/api-token)')
}

/** The local owner's token alone (no accounts): a server without the store. */
function tokenOnly(token: string): Authenticator {
  const expected = Buffer.from(token)
  return {
    authenticate({ authorization }) {
      const given = Buffer.from(/^Bearer (.+)$/.exec(authorization ?? '')?.[1] ?? '')
      return token && given.length === expected.length && timingSafeEqual(given, expected) ? { name: 'local', role: 'installer', via: 'token' } : null
    },
  }
}
