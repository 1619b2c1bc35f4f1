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
