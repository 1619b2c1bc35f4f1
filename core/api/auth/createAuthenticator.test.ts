import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createStore, type Store } from '../../store/createStore.ts'
import { createAuthenticator } from './createAuthenticator.ts'
import { LoginError, LoginThrottledError, SignInLinkError } from './errors.ts'
import { hashPassword } from './hashPassword.ts'

const cheap = { N: 1024, r: 8, p: 1 }
const MIN = 60_000
const HOUR = 60 * MIN
let store: Store
let t = 1_000_000
afterEach(() => store?.close())

async function setup(extra: Partial<Parameters<typeof createAuthenticator>[0]> = {}) {
  store = createStore({ path: join(mkdtempSync(join(tmpdir(), 'gm-auth-')), 'store.db') })
  store.users.add({ name: 'ann', role: 'operator', passwordHash: await hashPassword('ann-secret', cheap), createdAtMs: 0 })
  store.users.add({ name: 'vic', role: 'viewer', passwordHash: await hashPassword('vic-secret', cheap), createdAtMs: 0 })
  return createAuthenticator({ token: 'the-token', users: store.users, sessions: store.sessions, now: () => t, scryptCost: cheap, idleMs: HOUR, absoluteMs: 24 * HOUR, ...extra })
}
const cookieOf = (setCookie: string) => setCookie.split(';')[0]!

describe('the local owner token', () => {
  it('is the installer "local"; a wrong or partial token is nobody', async () => {
    const auth = await setup()
    expect(auth.authenticate({ authorization: 'Bearer the-token' })).toEqual({ name: 'local', role: 'installer', via: 'token' })
    expect(auth.authenticate({ authorization: 'Bearer the-toke' })).toBeNull()
    expect(auth.authenticate({ authorization: 'Bearer the-token ' })).toBeNull()
    expect(auth.authenticate({ authorization: 'Basic the-token' })).toBeNull()
    expect(auth.authenticate({})).toBeNull()
    expect(auth.session({ authorization: 'Bearer the-token' })).toEqual({ principal: { name: 'local', role: 'installer', via: 'token' }, expiresAtMs: null })
  })
})

describe('named accounts', () => {
  it('a right password gets an HttpOnly SameSite=Strict cookie that authenticates as the account', async () => {
    const auth = await setup()
    const login = await auth.login({ name: 'ann', password: 'ann-secret' }, '10.0.0.1')
    expect(login.cookie).toMatch(/^gridmesh_session=[\w-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=86400$/)
    expect(login.user).toEqual({ name: 'ann', role: 'operator' })
    expect(auth.authenticate({ cookie: `other=1; ${cookieOf(login.cookie)}` })).toEqual({ name: 'ann', role: 'operator', via: 'session' })
    // the store keeps only a hash of the cookie
    expect(store.sessions.get(cookieOf(login.cookie).split('=')[1]!)).toBeNull()
  })

  it('Secure under TLS', async () => {
    const auth = await setup({ secureCookies: true })
    expect((await auth.login({ name: 'ann', password: 'ann-secret' }, 'a')).cookie).toMatch(/; Secure$/)
  })

  it('a wrong password and an unknown name get the same LoginError', async () => {
    const auth = await setup()
    const wrong = await auth.login({ name: 'ann', password: 'nope' }, 'a').catch((e: unknown) => e)
    const unknown = await auth.login({ name: 'zed', password: 'nope' }, 'b').catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(LoginError)
    expect(unknown).toBeInstanceOf(LoginError)
    expect((wrong as Error).message).toBe((unknown as Error).message)
    expect((wrong as Error).message).toBe('wrong user name or password')
  })

  it('guessing is throttled per name (a right password waits too) and a success resets it', async () => {
    const auth = await setup()
    for (let i = 0; i < 3; i++) await expect(auth.login({ name: 'ann', password: `guess${i}` }, `10.0.0.${i}`)).rejects.toBeInstanceOf(LoginError)
    await expect(auth.login({ name: 'ann', password: 'guess3' }, '10.0.0.9')).rejects.toBeInstanceOf(LoginError)
    const throttled = await auth.login({ name: 'ann', password: 'ann-secret' }, '10.0.0.10').catch((e: unknown) => e)
    expect(throttled).toBeInstanceOf(LoginThrottledError)
    expect((throttled as Error).message).toBe('too many failed sign-ins for this name or from this address; try again in 1 s')
    // another account from another address is not held up
    await auth.login({ name: 'vic', password: 'vic-secret' }, '10.1.1.1')
    t += 1000
    await auth.login({ name: 'ann', password: 'ann-secret' }, '10.0.0.10')
    await expect(auth.login({ name: 'ann', password: 'again' }, '10.0.0.11')).rejects.toBeInstanceOf(LoginError)
  })

  it('guesses sent in parallel are throttled too (the throttle counts an attempt before its slow check)', async () => {
    const auth = await setup()
    const outcomes = await Promise.all(Array.from({ length: 12 }, (_, i) => auth.login({ name: 'vic', password: `guess${i}` }, '10.9.9.9').catch((e: unknown) => (e as Error).name)))
    expect(outcomes.filter((o) => o === 'LoginError')).toHaveLength(4)
    expect(outcomes.filter((o) => o === 'LoginThrottledError')).toHaveLength(8)
  })

  it('a session ends when idle, at its absolute expiry, at logout, and when the account goes', async () => {
    const auth = await setup()
    const c = async () => cookieOf((await auth.login({ name: 'ann', password: 'ann-secret' }, 'a')).cookie)
    const idle = await c()
    t += HOUR - 1
    expect(auth.authenticate({ cookie: idle })).not.toBeNull()
    t += HOUR - 1 // seen a moment ago: still valid
    expect(auth.session({ cookie: idle })?.expiresAtMs).toBe(t + HOUR)
    t += HOUR
    expect(auth.authenticate({ cookie: idle })).toBeNull()

    const busy = await c()
    for (let i = 0; i < 24; i++) {
      t += HOUR / 2
      expect(auth.authenticate({ cookie: busy })).not.toBeNull()
      t += HOUR / 2 - 1
    }
    t += 24 // 24 h after sign-in
    expect(auth.authenticate({ cookie: busy })).toBeNull()

    const out = await c()
    expect(auth.logout({ cookie: out }).cookie).toBe('gridmesh_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0')
    expect(auth.authenticate({ cookie: out })).toBeNull()

    const gone = await c()
    store.users.remove('ann')
    expect(auth.authenticate({ cookie: gone })).toBeNull()
  })

  it('a role changed in the store applies to a signed-in session; sessions survive a new authenticator (restart)', async () => {
    const auth = await setup()
    const cookie = cookieOf((await auth.login({ name: 'ann', password: 'ann-secret' }, 'a')).cookie)
    const restarted = createAuthenticator({ token: 'new-token', users: store.users, sessions: store.sessions, now: () => t, scryptCost: cheap })
    expect(restarted.authenticate({ cookie })?.role).toBe('operator')
    store.users.remove('ann')
    store.users.add({ name: 'ann', role: 'viewer', passwordHash: await hashPassword('x', cheap), createdAtMs: 0 })
    // removal ended the old session: a new sign-in is needed
    expect(restarted.authenticate({ cookie })).toBeNull()
    expect(auth.authenticate({ cookie: 'gridmesh_session=forged' })).toBeNull()
  })
})

describe('one-time sign-in links', () => {
  it('sign the local owner in once, and expire', async () => {
    const auth = await setup({ linkMs: 5 * MIN })
    const code = auth.createSignInLink()
    expect(code).toMatch(/^[\w-]{32}$/)
    const signedIn = auth.redeemSignInLink(code)
    expect(signedIn.user).toEqual({ name: 'local', role: 'installer' })
    expect(auth.authenticate({ cookie: cookieOf(signedIn.cookie) })).toEqual({ name: 'local', role: 'installer', via: 'session' })
    expect(() => auth.redeemSignInLink(code)).toThrow(SignInLinkError)
    const late = auth.createSignInLink()
    t += 5 * MIN
    expect(() => auth.redeemSignInLink(late)).toThrow(SignInLinkError)
    expect(() => auth.redeemSignInLink('made-up')).toThrow(/unknown, used already or expired/)
  })
})
