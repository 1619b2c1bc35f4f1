import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, expect, it } from 'vitest'
import { createStore, type Store } from './createStore.ts'
import { StoreInputError } from './errors.ts'

const open: Store[] = []
const newStore = (path = join(mkdtempSync(join(tmpdir(), 'gm-users-')), 'store.db')) => {
  const store = createStore({ path, now: () => 1000 })
  open.push(store)
  return store
}
afterEach(() => {
  for (const s of open.splice(0)) s.close()
})
const hash = 'scrypt$16384$8$1$c2FsdA$aGFzaA'

it('adds, lists (without hashes), finds and removes accounts; they survive a reopen', () => {
  const store = newStore()
  store.users.add({ name: 'ann', role: 'operator', passwordHash: hash, createdAtMs: 5 })
  store.users.add({ name: 'bob', role: 'viewer', passwordHash: hash, createdAtMs: 6 })
  expect(store.users.list()).toEqual([
    { name: 'ann', role: 'operator', createdAtMs: 5 },
    { name: 'bob', role: 'viewer', createdAtMs: 6 },
  ])
  store.close()
  open.pop()
  const again = newStore(store.path)
  expect(again.users.get('ann')).toEqual({ name: 'ann', role: 'operator', passwordHash: hash, createdAtMs: 5 })
  expect(again.users.remove('ann')).toBe(true)
  expect(again.users.remove('ann')).toBe(false)
  expect(again.users.get('ann')).toBeNull()
})

it('refuses a taken name, a bad role or a hash that is not scrypt, and changes nothing', () => {
  const store = newStore()
  store.users.add({ name: 'ann', role: 'operator', passwordHash: hash, createdAtMs: 5 })
  expect(() => store.users.add({ name: 'ann', role: 'installer', passwordHash: hash, createdAtMs: 7 })).toThrow(/users.add: name: expected a name no account has yet.*got 'ann'/)
  expect(() => store.users.add({ name: 'cy', role: 'root' as never, passwordHash: hash, createdAtMs: 7 })).toThrow(StoreInputError)
  expect(() => store.users.add({ name: 'cy', role: 'viewer', passwordHash: 'plain', createdAtMs: 7 })).toThrow(/passwordHash: expected a scrypt hash, got '\(not shown\)'/)
  expect(store.users.list()).toEqual([{ name: 'ann', role: 'operator', createdAtMs: 5 }])
})

it('removing an account ends its sessions', () => {
  const store = newStore()
  store.users.add({ name: 'ann', role: 'operator', passwordHash: hash, createdAtMs: 5 })
  store.sessions.add({ idHash: 'h1', name: 'ann', role: 'operator', via: 'password', createdAtMs: 5, lastSeenMs: 5, expiresAtMs: 100 })
  store.sessions.add({ idHash: 'h2', name: 'local', role: 'installer', via: 'link', createdAtMs: 5, lastSeenMs: 5, expiresAtMs: 100 })
  store.users.remove('ann')
  expect(store.sessions.get('h1')).toBeNull()
  expect(store.sessions.get('h2')?.name).toBe('local')
})
