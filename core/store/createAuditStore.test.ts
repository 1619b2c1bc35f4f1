import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { createStore } from './createStore.ts'

it('records who, role, when, what and the outcome, newest first, and survives a reopen', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'gm-audit-')), 'store.db')
  const store = createStore({ path })
  const a = store.audit.record({ timeMs: 10, who: 'ann', role: 'operator', via: 'session', command: 'setMode', body: { type: 'setMode', mode: 'auto' }, outcome: 'ok', reason: null })
  const b = store.audit.record({ timeMs: 20, who: 'bob', role: 'viewer', via: 'session', command: 'setMode', body: { type: 'setMode', mode: 'auto' }, outcome: 'refused', reason: 'role viewer cannot setMode (needs operator)' })
  expect(b.id).toBeGreaterThan(a.id)
  store.close()
  const again = createStore({ path })
  try {
    expect(again.audit.list()).toEqual([b, a])
    expect(again.audit.list({ sinceMs: 15 })).toEqual([b])
    expect(again.audit.list({ limit: 1 })).toEqual([b])
  } finally {
    again.close()
  }
})

it('keeps a huge body cut and marked, and a body that is not an object as it came', () => {
  const store = createStore({ path: join(mkdtempSync(join(tmpdir(), 'gm-audit-')), 'store.db') })
  try {
    const big = store.audit.record({ timeMs: 1, who: 'local', role: 'installer', via: 'token', command: null, body: { junk: 'x'.repeat(60_000) }, outcome: 'refused', reason: 'not a command' })
    expect(big.body).toMatch(/^\{"junk":"xxx.*… \(60011 characters, cut\)$/)
    expect(store.audit.list()[0]!.body).toBe(big.body)
    store.audit.record({ timeMs: 2, who: 'local', role: 'installer', via: 'token', command: null, body: [1, 'two', null], outcome: 'refused', reason: 'not a command' })
    expect(store.audit.list()[0]!.body).toEqual([1, 'two', null])
  } finally {
    store.close()
  }
})
