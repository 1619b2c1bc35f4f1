import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { SessionStore } from '../../store/createSessionStore.ts'
import type { UserStore } from '../../store/createUserStore.ts'
import type { Login, Principal, SessionUser } from '../contract.ts'
import { createLoginThrottle, type LoginThrottle } from './createLoginThrottle.ts'
import { LoginError, LoginThrottledError, SignInLinkError } from './errors.ts'
import { defaultScryptCost, hashPassword, type ScryptCost } from './hashPassword.ts'
import { verifyPassword } from './verifyPassword.ts'

/** What authentication sees of a request, whatever carried it (HTTP now, Electron IPC later). */
export type AuthRequest = { authorization?: string | undefined; cookie?: string | undefined }

/** The one interface the API asks: who is this? null: nobody (answer 401). */
export type Authenticator = { authenticate(request: AuthRequest): Principal | null }

export type CreateAuthenticatorOptions = {
  /** The local owner's Bearer token (<data>/api-token): name 'local', role installer. */
  token: string
  users: UserStore
  sessions: SessionStore
  now: () => number
  /** A session ends after this long without a request, and this long after sign-in at the latest (defaults 8 h and 7 days). */
  idleMs?: number
  absoluteMs?: number
  /** A one-time sign-in link works this long (default 10 min). */
  linkMs?: number
  /** Cookies get `Secure` (the server runs TLS). */
  secureCookies?: boolean
  scryptCost?: ScryptCost
  throttle?: LoginThrottle
}

export const sessionCookieName = 'gridmesh_session'
export const localUser = 'local'
// A session's last-seen time is written at most this often: not one store write per request.
const touchEveryMs = 60_000
const maxLinks = 16

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')
function readCookie(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return null
}

/**
 * Sign-in for the HTTP API: the local owner's Bearer token, named accounts with a
 * password (scrypt, throttled guessing) that get an HttpOnly SameSite=Strict session
 * cookie, and one-time sign-in links for the local owner. Sessions live in the store
 * by the hash of their cookie, so they survive a restart and a stolen database signs
 * nobody in.
 */
export function createAuthenticator(options: CreateAuthenticatorOptions) {
  const { users, sessions, now } = options
  const idleMs = options.idleMs ?? 8 * 3_600_000
  const absoluteMs = options.absoluteMs ?? 7 * 86_400_000
  const linkMs = options.linkMs ?? 10 * 60_000
  const cost = options.scryptCost ?? defaultScryptCost
  const throttle = options.throttle ?? createLoginThrottle({ now })
  const expectedToken = Buffer.from(options.token)
  const links = new Map<string, number>()
  // Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
  let dummyHash: Promise<string> | null = null

  const cookie = (value: string, maxAgeS: number) => `${sessionCookieName}=${value}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${maxAgeS}${options.secureCookies ? '; Secure' : ''}`
  const expiresAt = (s: { lastSeenMs: number; expiresAtMs: number }) => Math.min(s.expiresAtMs, s.lastSeenMs + idleMs)

  function tokenOk(given: string) {
    const g = Buffer.from(given)
    return g.length === expectedToken.length && timingSafeEqual(g, expectedToken)
  }

  /** The session a request's cookie names, if it is still valid (touched), with its principal. */
  function session(request: AuthRequest): { principal: Principal; expiresAtMs: number } | null {
    const value = readCookie(request.cookie, sessionCookieName)
    if (!value) return null
    const idHash = sha256(value)
    const s = sessions.get(idHash)
    if (!s) return null
    const nowMs = now()
    if (nowMs >= expiresAt(s)) {
      sessions.remove(idHash)
      return null
    }
    let role = s.role
    if (s.via === 'password') {
      // The account as it is now: removed or re-roled by `gridmesh users` while signed in.
      const user = users.get(s.name)
      if (!user) {
        sessions.remove(idHash)
        return null
      }
      role = user.role
    }
    if (nowMs - s.lastSeenMs >= touchEveryMs) {
      sessions.touch(idHash, nowMs)
      s.lastSeenMs = nowMs
    }
    return { principal: { name: s.name, role, via: 'session' }, expiresAtMs: expiresAt(s) }
  }

  function startSession(user: SessionUser, via: 'password' | 'link') {
    const value = randomBytes(32).toString('base64url')
    const nowMs = now()
    sessions.prune(nowMs, idleMs)
    sessions.add({ idHash: sha256(value), name: user.name, role: user.role, via, createdAtMs: nowMs, lastSeenMs: nowMs, expiresAtMs: nowMs + absoluteMs })
    return { cookie: cookie(value, Math.floor(absoluteMs / 1000)), user, expiresAtMs: Math.min(nowMs + absoluteMs, nowMs + idleMs) }
  }

  return {
    authenticate(request: AuthRequest): Principal | null {
      const bearer = /^Bearer (.+)$/.exec(request.authorization ?? '')?.[1]
      if (bearer) return tokenOk(bearer) ? { name: localUser, role: 'installer', via: 'token' } : null
      return session(request)?.principal ?? null
    },
    /** GET /api/session: who, and until when (null for the token: as long as the server runs). */
    session(request: AuthRequest): { principal: Principal; expiresAtMs: number | null } | null {
      const bearer = /^Bearer (.+)$/.exec(request.authorization ?? '')?.[1]
      if (bearer) return tokenOk(bearer) ? { principal: { name: localUser, role: 'installer', via: 'token' }, expiresAtMs: null } : null
      return session(request)
    },
    /** POST /api/login: a session cookie for a right name and password; the same LoginError for any wrong one. */
    async login({ name, password }: Login, address: string) {
      const verdict = throttle.check(name, address)
      if (!verdict.allowed) throw new LoginThrottledError({ retryAfterMs: verdict.retryAfterMs })
      // Counted as a failure before the (slow) check and cleared on success: guesses sent in parallel cannot all pass the check first.
      throttle.failed(name, address)
      const user = users.get(name)
      dummyHash ??= hashPassword('no such user', cost)
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummyHash))
      if (!user || !ok) throw new LoginError()
      throttle.succeeded(name, address)
      return startSession({ name: user.name, role: user.role }, 'password')
    },
    /** POST /api/logout: ends the cookie's session; the answer's cookie clears it in the browser. */
    logout(request: AuthRequest): { cookie: string } {
      const value = readCookie(request.cookie, sessionCookieName)
      if (value) sessions.remove(sha256(value))
      return { cookie: cookie('', 0) }
    },
    /** A code for a one-time sign-in link as the local owner: single use, valid linkMs. */
    createSignInLink(): string {
      const code = randomBytes(24).toString('base64url')
      const nowMs = now()
      for (const [k, until] of links) if (until <= nowMs || links.size >= maxLinks) links.delete(k)
      links.set(sha256(code), nowMs + linkMs)
      return code
    },
    redeemSignInLink(code: string) {
      const key = sha256(code)
      const until = links.get(key)
      links.delete(key)
      if (until === undefined || now() >= until) throw new SignInLinkError()
      return startSession({ name: localUser, role: 'installer' }, 'link')
    },
  }
}

export type SiteAuthenticator = ReturnType<typeof createAuthenticator>
