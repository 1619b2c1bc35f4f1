import { accessSync, constants, statSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { StoreInputError, StoreOpenError } from './errors.ts'
import { migrateStore, STORE_SCHEMA_VERSION } from './migrateStore.ts'

/** Opens (or creates and migrates) the database at `path`; a file it cannot use is left untouched and named. */
export function openStoreDatabase(path: string, now: () => number): Database.Database {
  let exists = true
  const fail = (problem: string, expected: string, cause?: unknown): never => {
    throw new StoreOpenError({ path, problem, expected, existed: exists, cause })
  }
  if (typeof path !== 'string' || path === '') throw new StoreInputError({ method: 'createStore', field: 'path', expected: 'a file path', got: path })
  try {
    if (statSync(path).isDirectory()) fail('is a directory', 'a database file')
  } catch (error) {
    if (error instanceof StoreOpenError) throw error
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') fail(`cannot be read (${(error as NodeJS.ErrnoException).code})`, 'a readable file', error)
    exists = false
  }
  if (exists) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK)
    } catch (error) {
      fail(`is not readable and writable by this process (${(error as NodeJS.ErrnoException).code})`, 'a file the controller may write', error)
    }
  }
  // WAL keeps its -wal and -shm files beside the database, so the directory must be writable too.
  const directory = dirname(path)
  try {
    accessSync(directory, constants.W_OK)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    fail(
      code === 'ENOENT' ? `directory ${directory} does not exist` : `directory ${directory} is not writable (${code})`,
      'an existing, writable directory',
      error,
    )
  }
  let db: Database.Database
  try {
    db = new Database(path)
  } catch (error) {
    return fail(`cannot be opened (${(error as Error).message})`, 'a SQLite database file or a new path', error)
  }
  try {
    // Inspect before changing anything: a file that is not ours, or is newer, stays as it is.
    db.pragma('busy_timeout = 5000')
    const tables = db.prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'table'`).pluck().all()
    let version = 0
    if (tables.includes('schema_version')) {
      version = db.prepare<[], number | null>('SELECT max(version) FROM schema_version').pluck().get() ?? 0
    } else if (tables.length > 0) {
      fail(`is a SQLite database without a schema_version table (tables: ${tables.slice(0, 5).join(', ')})`, 'a GridMesh store or a new file')
    }
    if (version > STORE_SCHEMA_VERSION) {
      fail(`has schema version ${version}, newer than this GridMesh supports (${STORE_SCHEMA_VERSION})`, 'a store written by this or an older version; upgrade GridMesh')
    }
    const mode = db.pragma('journal_mode = WAL', { simple: true })
    if (mode !== 'wal') fail(`cannot switch to WAL (journal mode stays '${String(mode)}')`, 'a file system with shared memory support')
    db.pragma('synchronous = NORMAL')
    db.pragma('foreign_keys = ON')
    migrateStore(db, version, now())
    return db
  } catch (error) {
    db.close()
    if (error instanceof StoreOpenError) throw error
    const code = (error as { code?: string }).code
    if (code === 'SQLITE_NOTADB') return fail('is not a SQLite database', 'a GridMesh store or a new file', error)
    if (code === 'SQLITE_CORRUPT') return fail('is corrupt', 'an intact SQLite database (restore it from a backup)', error)
    return fail(`cannot be opened (${code ?? ''} ${(error as Error).message})`, 'a GridMesh store', error)
  }
}
