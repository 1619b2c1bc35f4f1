import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createStore } from './createStore.ts'

it('keeps sessions by hash, touches them forward only and prunes expired and idle ones', () => {
  const store = createStore({ path: join(mkdtempSync(join(tmpdir(), 'gm-sessions-')), 'store.db') })
  try {
    const base = { name: 'ann', role: 'operator' as const, via: 'password', createdAtMs: 0 }
    store.sessions.add({ ...base, idHash: 'a', lastSeenMs: 0, expiresAtMs: 10_000 })
    store.sessions.add({ ...base, idHash: 'b', lastSeenMs: 0, expiresAtMs: 1_000 })
    store.sessions.add({ ...base, idHash: 'c', lastSeenMs: 0, expiresAtMs: 10_000 })
    store.sessions.touch('a', 900)
    store.sessions.touch('a', 100)
    expect(store.sessions.get('a')?.lastSeenMs).toBe(900)
    // at 1000 with 500 ms idle: b is past its absolute expiry, c idle since 0, a seen at 900
    expect(store.sessions.prune(1_000, 500)).toBe(2)
    expect(['a', 'b', 'c'].map((h) => store.sessions.get(h)?.idHash ?? null)).toEqual(['a', null, null])
    expect(store.sessions.remove('a')).toBe(true)
    expect(store.sessions.remove('a')).toBe(false)
  } finally {
    store.close()
  }
})
