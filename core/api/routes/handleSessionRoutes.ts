import type { IncomingMessage, ServerResponse } from 'node:http'
import { describeZodIssue, formatIssuePath } from '../../errors/describeZodIssue.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import type { SiteAuthenticator } from '../auth/createAuthenticator.ts'
import { UnauthenticatedError } from '../auth/errors.ts'
import { loginSchema, type LoginResult, type SessionResult } from '../contract.ts'

export type SessionRoutesParameters = {
  auth: SiteAuthenticator
  /** The server's body reader (size limit, JSON, depth). */
  readBody: (req: IncomingMessage) => Promise<unknown>
}

const paths = new Set(['/api/login', '/api/logout', '/api/session', '/api/signin'])

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

/**
 * Signing in and out, before any credential is needed (run after the same-origin check,
 * so another site cannot sign a browser in or out): POST /api/login, POST /api/logout,
 * GET /api/session, and GET /api/signin?code= (the one-time link: a session cookie, then
 * a redirect to the HMI). Answers and returns true when the request was one of these.
 */
export async function handleSessionRoutes(req: IncomingMessage, res: ServerResponse, url: URL, { auth, readBody }: SessionRoutesParameters): Promise<boolean> {
  if (!paths.has(url.pathname)) return false
  const method = req.method ?? 'GET'
  const credentials = { authorization: req.headers.authorization, cookie: req.headers.cookie }
  const wrongMethod = (allowed: string) => new ApiRequestError(405, `${method} is not allowed on ${url.pathname}; use ${allowed}`)
  switch (url.pathname) {
    case '/api/login': {
      if (method !== 'POST') throw wrongMethod('POST')
      const body = await readBody(req)
      const parsed = loginSchema.safeParse(body)
      if (!parsed.success) throw new ApiRequestError(400, `request body: ${parsed.error.issues.map((i) => describeZodIssue(i, body)).join('; ')}`, formatIssuePath(parsed.error.issues[0]!.path) || undefined)
      const session = await auth.login(parsed.data, req.socket.remoteAddress ?? 'unknown')
      const answer: LoginResult = { user: session.user, expiresAtMs: session.expiresAtMs }
      send(res, 200, answer, { 'set-cookie': session.cookie })
      return true
    }
    case '/api/logout': {
      if (method !== 'POST') throw wrongMethod('POST')
      send(res, 200, { signedOut: true }, { 'set-cookie': auth.logout(credentials).cookie })
      return true
    }
    case '/api/session': {
      if (method !== 'GET') throw wrongMethod('GET')
      const session = auth.session(credentials)
      if (!session) throw new UnauthenticatedError('no valid session cookie or token (sign in with POST /api/login)')
      const answer: SessionResult = { user: { name: session.principal.name, role: session.principal.role }, via: session.principal.via, expiresAtMs: session.expiresAtMs }
      send(res, 200, answer)
      return true
    }
    default: {
      if (method !== 'GET') throw wrongMethod('GET')
      const session = auth.redeemSignInLink(url.searchParams.get('code') ?? '')
      // The code is spent; the redirect leaves it out of the address bar, and no Referer carries it anywhere.
      res.writeHead(303, { location: '/', 'set-cookie': session.cookie, 'cache-control': 'no-store', 'referrer-policy': 'no-referrer', 'content-length': 0 })
      res.end()
      return true
    }
  }
}
