import type Database from 'better-sqlite3'

export type StoreMigration = { version: number; sql: string }

/** The schema, one forward step per version; a released step is never edited, only followed by a new one. */
export const STORE_MIGRATIONS: readonly StoreMigration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE series (
        id INTEGER PRIMARY KEY, device TEXT NOT NULL, point TEXT NOT NULL, UNIQUE (device, point));
      -- one value per series and millisecond, clustered by time: a cycle's batch lands on one
      -- or two pages at the end of the tree (clustered by series, each commit dirtied one
      -- page per series, 200 pages of WAL per cycle); rollups and pruning are time ranges
      CREATE TABLE telemetry_raw (
        time_ms INTEGER NOT NULL, series_id INTEGER NOT NULL, value REAL NOT NULL,
        PRIMARY KEY (time_ms, series_id)) WITHOUT ROWID;
      -- the tiers are written once per bucket and read as trends: clustered by series
      CREATE TABLE telemetry_1m (
        series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, avg REAL NOT NULL, min REAL NOT NULL,
        max REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series_id, time_ms)) WITHOUT ROWID;
      CREATE TABLE telemetry_15m (
        series_id INTEGER NOT NULL, time_ms INTEGER NOT NULL, avg REAL NOT NULL, min REAL NOT NULL,
        max REAL NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (series_id, time_ms)) WITHOUT ROWID;
      -- rolled_before_ms: every closed bucket before it is rolled up; pruned_before_ms: rows before it are gone
      CREATE TABLE rollup_state (
        tier TEXT PRIMARY KEY, rolled_before_ms INTEGER NOT NULL, pruned_before_ms INTEGER NOT NULL);
      INSERT INTO rollup_state VALUES ('raw', 0, 0), ('1m', 0, 0), ('15m', 0, 0);
      CREATE TABLE writes (
        id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, device TEXT NOT NULL, point TEXT NOT NULL,
        requested REAL NOT NULL, written REAL NOT NULL, read_back REAL, verified INTEGER NOT NULL,
        clamped INTEGER NOT NULL, reason TEXT NOT NULL);
      CREATE INDEX writes_time ON writes (time_ms);
      CREATE TABLE plans (
        id INTEGER PRIMARY KEY, version INTEGER NOT NULL, created_at_ms INTEGER NOT NULL, document TEXT NOT NULL);
      CREATE INDEX plans_created ON plans (created_at_ms);
      CREATE TABLE forecasts (
        id INTEGER PRIMARY KEY, created_at_ms INTEGER NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('load', 'pv')),
        model TEXT NOT NULL, start_ms INTEGER NOT NULL, slot_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,
        values_w TEXT NOT NULL);
      CREATE INDEX forecasts_kind_start ON forecasts (kind, start_ms);
      CREATE TABLE alarms (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL, device TEXT,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')), message TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('active', 'acknowledged', 'cleared')), raised_at_ms INTEGER NOT NULL,
        acknowledged_at_ms INTEGER, acknowledged_by TEXT, cleared_at_ms INTEGER);
      -- at most one open alarm per key
      CREATE UNIQUE INDEX alarms_open_key ON alarms (key) WHERE state <> 'cleared';
      CREATE TABLE alarm_events (
        id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarms (id),
        state TEXT NOT NULL, time_ms INTEGER NOT NULL, by TEXT);
      CREATE INDEX alarm_events_time ON alarm_events (time_ms);
    `,
  },
  {
    // ISA-18.2 alarm states (core/store/transitionAlarm.ts) with shelving, and events that
    // say what happened (action), who, why and until when. SQLite cannot change a CHECK in
    // place: both tables are copied, the events first, so no foreign key ever dangles. A v1
    // 'cleared' alarm was closed without needing an acknowledgement: it becomes 'normal'.
    version: 2,
    sql: `
      CREATE TABLE alarms_v2 (
        id INTEGER PRIMARY KEY, key TEXT NOT NULL, device TEXT,
        severity TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')), message TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('unacknowledged', 'acknowledged', 'returned-unacknowledged', 'normal', 'shelved')),
        condition_active INTEGER NOT NULL CHECK (condition_active IN (0, 1)),
        raised_at_ms INTEGER NOT NULL, acknowledged_at_ms INTEGER, acknowledged_by TEXT, cleared_at_ms INTEGER,
        shelved_at_ms INTEGER, shelved_by TEXT, shelved_until_ms INTEGER, shelve_reason TEXT,
        -- the time of the last transition, for ?sinceMs=
        changed_at_ms INTEGER NOT NULL);
      INSERT INTO alarms_v2 (id, key, device, severity, message, state, condition_active, raised_at_ms, acknowledged_at_ms,
        acknowledged_by, cleared_at_ms, changed_at_ms)
      SELECT id, key, device, severity, message,
        CASE state WHEN 'active' THEN 'unacknowledged' WHEN 'acknowledged' THEN 'acknowledged' ELSE 'normal' END,
        state <> 'cleared', raised_at_ms, acknowledged_at_ms, acknowledged_by, cleared_at_ms,
        max(raised_at_ms, coalesce(acknowledged_at_ms, 0), coalesce(cleared_at_ms, 0))
      FROM alarms;
      CREATE TABLE alarm_events_v2 (
        id INTEGER PRIMARY KEY, alarm_id INTEGER NOT NULL REFERENCES alarms_v2 (id),
        action TEXT NOT NULL CHECK (action IN ('raise', 'clear', 'acknowledge', 'shelve', 'unshelve', 'expire')),
        state TEXT NOT NULL, time_ms INTEGER NOT NULL, by TEXT, reason TEXT, until_ms INTEGER);
      INSERT INTO alarm_events_v2 (id, alarm_id, action, state, time_ms, by)
      SELECT id, alarm_id,
        CASE state WHEN 'active' THEN 'raise' WHEN 'acknowledged' THEN 'acknowledge' ELSE 'clear' END,
        CASE state WHEN 'active' THEN 'unacknowledged' WHEN 'acknowledged' THEN 'acknowledged' ELSE 'normal' END,
        time_ms, by
      FROM alarm_events;
      DROP TABLE alarm_events;
      DROP TABLE alarms;
      ALTER TABLE alarms_v2 RENAME TO alarms;
      ALTER TABLE alarm_events_v2 RENAME TO alarm_events;
      -- at most one open alarm per key
      CREATE UNIQUE INDEX alarms_open_key ON alarms (key) WHERE state <> 'normal';
      CREATE INDEX alarms_shelved ON alarms (shelved_until_ms) WHERE state = 'shelved';
      CREATE INDEX alarm_events_time ON alarm_events (time_ms);
      CREATE INDEX alarm_events_alarm ON alarm_events (alarm_id);
    `,
  },
  {
    // The HMI's people and what they did: accounts (scrypt hashes), sessions (by the hash of
    // their cookie, so a copy of the file signs nobody in), the audit of every command, and
    // settings the operator changes at run time (operating mode, grid limits, tariff).
    version: 3,
    sql: `
      CREATE TABLE users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'installer')),
        password_hash TEXT NOT NULL, created_at_ms INTEGER NOT NULL);
      CREATE TABLE sessions (
        id_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('viewer', 'operator', 'installer')),
        via TEXT NOT NULL, created_at_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL, expires_at_ms INTEGER NOT NULL);
      CREATE INDEX sessions_name ON sessions (name);
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, who TEXT NOT NULL, role TEXT NOT NULL, via TEXT NOT NULL,
        command TEXT, body TEXT NOT NULL, outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'refused')), reason TEXT);
      CREATE INDEX audit_time ON audit (time_ms);
      CREATE TABLE settings (
        key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at_ms INTEGER NOT NULL, updated_by TEXT NOT NULL);
    `,
  },
]

/** The newest schema version this code reads and writes. */
export const STORE_SCHEMA_VERSION = STORE_MIGRATIONS[STORE_MIGRATIONS.length - 1]!.version

/** Applies every migration newer than `from`, each in its own transaction with its version row. */
export function migrateStore(db: Database.Database, from: number, nowMs: number, migrations: readonly StoreMigration[] = STORE_MIGRATIONS): number {
  let version = from
  for (const migration of migrations) {
    if (migration.version <= version) continue
    db.transaction(() => {
      if (version === 0) db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at_ms INTEGER NOT NULL)')
      db.exec(migration.sql)
      db.prepare('INSERT INTO schema_version (version, applied_at_ms) VALUES (?, ?)').run(migration.version, nowMs)
    })()
    version = migration.version
  }
  return version
}
