import Database from 'better-sqlite3'
import { expect, it } from 'vitest'
import { migrateStore, STORE_MIGRATIONS, STORE_SCHEMA_VERSION } from './migrateStore.ts'

const versions = (db: Database.Database) => db.prepare<[], number>('SELECT version FROM schema_version ORDER BY version').pluck().all()

it('applies each newer step once, in order, and records its version', () => {
  const db = new Database(':memory:')
  const steps = [
    { version: 1, sql: 'CREATE TABLE a (x INTEGER)' },
    { version: 2, sql: 'ALTER TABLE a ADD COLUMN y TEXT' },
  ]
  expect(migrateStore(db, 0, 1000, steps.slice(0, 1))).toBe(1)
  db.prepare('INSERT INTO a (x) VALUES (7)').run()
  expect(migrateStore(db, 1, 2000, steps)).toBe(2)
  expect(versions(db)).toEqual([1, 2])
  expect(db.prepare('SELECT x, y FROM a').all()).toEqual([{ x: 7, y: null }])
  expect(migrateStore(db, 2, 3000, steps)).toBe(2)
  expect(versions(db)).toEqual([1, 2])
})

it('a failing step rolls back whole and leaves the earlier version and data', () => {
  const db = new Database(':memory:')
  const steps = [
    { version: 1, sql: 'CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1);' },
    { version: 2, sql: 'CREATE TABLE b (x INTEGER); THIS IS NOT SQL;' },
  ]
  expect(() => migrateStore(db, 0, 1000, steps)).toThrow(/syntax error/)
  expect(versions(db)).toEqual([1])
  expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'b'`).all()).toEqual([])
  expect(db.prepare('SELECT x FROM a').pluck().all()).toEqual([1])
})

it('the shipped steps have increasing versions and end at STORE_SCHEMA_VERSION', () => {
  const list = STORE_MIGRATIONS.map((m) => m.version)
  expect(list).toEqual([...list].sort((a, b) => a - b))
  expect(new Set(list).size).toBe(list.length)
  expect(list.at(-1)).toBe(STORE_SCHEMA_VERSION)
  const db = new Database(':memory:')
  expect(migrateStore(db, 0, 0)).toBe(STORE_SCHEMA_VERSION)
})
