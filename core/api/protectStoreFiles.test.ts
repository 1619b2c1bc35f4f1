import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createStore } from '../store/createStore.ts'
import { protectStoreFiles } from './protectStoreFiles.ts'

const work = mkdtempSync(join(tmpdir(), 'gridmesh-store-modes-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const modeOf = (path: string) => statSync(path).mode & 0o777

describe('protectStoreFiles', () => {
  it('narrows a 0644 database and its -wal/-shm left by an earlier run to 0600, and the store still opens', () => {
    const db = join(work, 'old.db')
    const before = createStore({ path: db })
    before.close()
    chmodSync(db, 0o644)
    writeFileSync(`${db}-wal`, '', { mode: 0o644 })
    writeFileSync(`${db}-shm`, '', { mode: 0o644 })
    protectStoreFiles(db)
    for (const f of [db, `${db}-wal`, `${db}-shm`]) expect({ f, mode: modeOf(f) }).toEqual({ f, mode: 0o600 })
    const store = createStore({ path: db })
    try {
      expect(store.listAlarms()).toEqual([])
      for (const f of [db, `${db}-wal`, `${db}-shm`].filter(existsSync)) expect({ f, mode: modeOf(f) }).toEqual({ f, mode: 0o600 })
    } finally {
      store.close()
    }
  })

  it('creates a missing database at 0600, so SQLite makes its -wal and -shm 0600 too', () => {
    const db = join(work, 'new.db')
    protectStoreFiles(db)
    const store = createStore({ path: db })
    try {
      store.listAlarms()
      expect(existsSync(`${db}-wal`)).toBe(true)
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect({ f, mode: modeOf(f) }).toEqual({ f, mode: 0o600 })
    } finally {
      store.close()
    }
  })
})
