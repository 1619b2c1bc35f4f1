import type Database from 'better-sqlite3'

/**
 * Runs `work` in an immediate transaction committed with synchronous=FULL (the WAL fsynced
 * before it returns): for rare operator-facing records such as alarm transitions, most
 * likely written exactly during a power event. Everything else commits with NORMAL.
 */
export function commitDurably<T>(db: Database.Database, work: () => T): T {
  db.pragma('synchronous = FULL')
  try {
    return db.transaction(work).immediate()
  } finally {
    db.pragma('synchronous = NORMAL')
  }
}
