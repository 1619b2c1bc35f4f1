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

it('version 2 carries v1 alarms and their events into the ISA-18.2 states, keys stay unique while open', () => {
  const db = new Database(':memory:')
  db.pragma('foreign_keys = ON')
  migrateStore(db, 0, 0, STORE_MIGRATIONS.slice(0, 1))
  const alarm = db.prepare(`INSERT INTO alarms (key, device, severity, message, state, raised_at_ms, acknowledged_at_ms, acknowledged_by, cleared_at_ms) VALUES (?, ?, 'warning', 'm', ?, ?, ?, ?, ?)`)
  alarm.run('a', 'bat1', 'active', 10, null, null, null)
  alarm.run('b', null, 'acknowledged', 20, 25, 'ann', null)
  alarm.run('a', 'bat1', 'cleared', 1, null, null, 5)
  alarm.run('c', null, 'cleared', 2, 3, 'bob', 4)
  const event = db.prepare('INSERT INTO alarm_events (alarm_id, state, time_ms, by) VALUES (?, ?, ?, ?)')
  event.run(1, 'active', 10, null)
  event.run(2, 'active', 20, null)
  event.run(2, 'acknowledged', 25, 'ann')
  event.run(3, 'cleared', 5, null)
  expect(migrateStore(db, 1, 100, STORE_MIGRATIONS.filter((m) => m.version <= 2))).toBe(2)
  expect(db.prepare('SELECT id, key, state, condition_active, changed_at_ms FROM alarms ORDER BY id').all()).toEqual([
    { id: 1, key: 'a', state: 'unacknowledged', condition_active: 1, changed_at_ms: 10 },
    { id: 2, key: 'b', state: 'acknowledged', condition_active: 1, changed_at_ms: 25 },
    // a v1 'cleared' alarm did not need acknowledging: closed
    { id: 3, key: 'a', state: 'normal', condition_active: 0, changed_at_ms: 5 },
    { id: 4, key: 'c', state: 'normal', condition_active: 0, changed_at_ms: 4 },
  ])
  expect(db.prepare('SELECT alarm_id, action, state, by FROM alarm_events ORDER BY id').all()).toEqual([
    { alarm_id: 1, action: 'raise', state: 'unacknowledged', by: null },
    { alarm_id: 2, action: 'raise', state: 'unacknowledged', by: null },
    { alarm_id: 2, action: 'acknowledge', state: 'acknowledged', by: 'ann' },
    { alarm_id: 3, action: 'clear', state: 'normal', by: null },
  ])
  expect(db.pragma('foreign_key_check')).toEqual([])
  expect(() => db.prepare(`INSERT INTO alarm_events (alarm_id, action, state, time_ms) VALUES (99, 'raise', 'unacknowledged', 0)`).run()).toThrow(/FOREIGN KEY/)
  const open = db.prepare(`INSERT INTO alarms (key, severity, message, state, condition_active, raised_at_ms, changed_at_ms) VALUES (?, 'info', 'm', 'unacknowledged', 1, 30, 30)`)
  expect(() => open.run('a')).toThrow(/UNIQUE/)
  expect(() => open.run('c')).not.toThrow()
})
