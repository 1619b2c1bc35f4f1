import type Database from 'better-sqlite3'

/** A setting as last saved: its value (JSON), when and by whom. */
export type StoredSetting = { value: unknown; updatedAtMs: number; updatedBy: string }

export type SettingsStore = {
  get(key: string): StoredSetting | null
  /** Replaces the value (fsynced before it returns). */
  put(key: string, value: unknown, by: string, timeMs: number): void
}

/** The settings table over an open store database (schema v3): what the operator changed at run time, by key. */
export function createSettingsStore(db: Database.Database): SettingsStore {
  const q = {
    get: db.prepare<[string], { value: string; updated_at_ms: number; updated_by: string }>('SELECT value, updated_at_ms, updated_by FROM settings WHERE key = ?'),
    put: db.prepare('INSERT INTO settings (key, value, updated_at_ms, updated_by) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms, updated_by = excluded.updated_by'),
  }
  return {
    get(key) {
      const r = q.get.get(key)
      return r ? { value: JSON.parse(r.value) as unknown, updatedAtMs: r.updated_at_ms, updatedBy: r.updated_by } : null
    },
    put(key, value, by, timeMs) {
      const text = JSON.stringify(value)
      db.pragma('synchronous = FULL')
      try {
        db.transaction(() => q.put.run(key, text, timeMs, by)).immediate()
      } finally {
        db.pragma('synchronous = NORMAL')
      }
    },
  }
}
