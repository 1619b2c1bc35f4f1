import { chmodSync, closeSync, fchmodSync, openSync } from 'node:fs'

/**
 * Makes the store's database and its companions 0600: it holds alarms, commands and
 * accounts. A missing database is created empty at 0600 (SQLite makes a new database
 * in an empty file, and its -wal and -shm inherit the database's mode); files left
 * with a wider mode by an earlier run are narrowed.
 */
export function protectStoreFiles(dbPath: string): void {
  const fd = openSync(dbPath, 'a', 0o600)
  try {
    fchmodSync(fd, 0o600)
  } finally {
    closeSync(fd)
  }
  for (const suffix of ['-wal', '-shm', '-journal']) {
    try {
      chmodSync(`${dbPath}${suffix}`, 0o600)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
  }
}
