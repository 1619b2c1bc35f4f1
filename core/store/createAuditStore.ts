import type Database from 'better-sqlite3'
import type { UserRole } from './createUserStore.ts'

/** One command as it was recorded (core/api/contract.ts AuditEntry). */
export type StoredAuditEntry = {
  id: number
  timeMs: number
  who: string
  role: UserRole
  via: string
  command: string | null
  body: unknown
  outcome: 'ok' | 'refused'
  reason: string | null
}

export type AuditStore = {
  /** Appends an entry (fsynced before it returns) and gives it back with its id. */
  record(entry: Omit<StoredAuditEntry, 'id'>): StoredAuditEntry
  /** Newest first. */
  list(q?: { sinceMs?: number; limit?: number }): StoredAuditEntry[]
}

type AuditRow = { id: number; time_ms: number; who: string; role: UserRole; via: string; command: string | null; body: string; outcome: 'ok' | 'refused'; reason: string | null }

// A body is kept as sent up to this size; a bigger one (the API takes 64 KB) is cut, marked, and kept as text.
const maxBodyChars = 4096

/** The audit table over an open store database (schema v3): who did what, when, and what came of it. */
export function createAuditStore(db: Database.Database): AuditStore {
  const q = {
    insert: db.prepare<[number, string, string, string, string | null, string, string, string | null]>('INSERT INTO audit (time_ms, who, role, via, command, body, outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    list: db.prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE time_ms >= ? ORDER BY id DESC LIMIT ?'),
  }
  const insert = db.transaction((e: Omit<StoredAuditEntry, 'id'>, body: string) => Number(q.insert.run(e.timeMs, e.who, e.role, e.via, e.command, body, e.outcome, e.reason).lastInsertRowid))
  return {
    record(entry) {
      let body = JSON.stringify(entry.body ?? null)
      let kept = entry.body ?? null
      if (body.length > maxBodyChars) {
        kept = `${body.slice(0, maxBodyChars)}… (${body.length} characters, cut)`
        body = JSON.stringify(kept)
      }
      db.pragma('synchronous = FULL')
      try {
        return { ...entry, body: kept, id: insert.immediate(entry, body) }
      } finally {
        db.pragma('synchronous = NORMAL')
      }
    },
    list: ({ sinceMs = 0, limit = 200 } = {}) =>
      q.list.all(sinceMs, limit).map((r) => ({ id: r.id, timeMs: r.time_ms, who: r.who, role: r.role, via: r.via, command: r.command, body: JSON.parse(r.body) as unknown, outcome: r.outcome, reason: r.reason })),
  }
}
