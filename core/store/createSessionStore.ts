import type Database from 'better-sqlite3'
import type { UserRole } from './createUserStore.ts'

/** A signed-in browser, found by the SHA-256 of its cookie (the cookie itself is never stored). */
export type StoredSession = { idHash: string; name: string; role: UserRole; via: string; createdAtMs: number; lastSeenMs: number; expiresAtMs: number }

export type SessionStore = {
  add(session: StoredSession): void
  get(idHash: string): StoredSession | null
  touch(idHash: string, lastSeenMs: number): void
  remove(idHash: string): boolean
  /** Deletes sessions past their absolute expiry or idle for idleMs; returns how many. */
  prune(nowMs: number, idleMs: number): number
}

type SessionRow = { id_hash: string; name: string; role: UserRole; via: string; created_at_ms: number; last_seen_ms: number; expires_at_ms: number }

/** The sessions table over an open store database (schema v3). */
export function createSessionStore(db: Database.Database): SessionStore {
  const q = {
    insert: db.prepare('INSERT INTO sessions (id_hash, name, role, via, created_at_ms, last_seen_ms, expires_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    get: db.prepare<[string], SessionRow>('SELECT * FROM sessions WHERE id_hash = ?'),
    touch: db.prepare('UPDATE sessions SET last_seen_ms = max(last_seen_ms, ?) WHERE id_hash = ?'),
    remove: db.prepare('DELETE FROM sessions WHERE id_hash = ?'),
    prune: db.prepare('DELETE FROM sessions WHERE expires_at_ms <= ? OR last_seen_ms <= ?'),
  }
  return {
    add: (s) => void q.insert.run(s.idHash, s.name, s.role, s.via, s.createdAtMs, s.lastSeenMs, s.expiresAtMs),
    get(idHash) {
      const r = q.get.get(idHash)
      return r ? { idHash: r.id_hash, name: r.name, role: r.role, via: r.via, createdAtMs: r.created_at_ms, lastSeenMs: r.last_seen_ms, expiresAtMs: r.expires_at_ms } : null
    },
    touch: (idHash, lastSeenMs) => void q.touch.run(lastSeenMs, idHash),
    remove: (idHash) => q.remove.run(idHash).changes > 0,
    prune: (nowMs, idleMs) => q.prune.run(nowMs, nowMs - idleMs).changes,
  }
}
