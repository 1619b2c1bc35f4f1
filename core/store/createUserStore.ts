import type Database from 'better-sqlite3'
import { StoreInputError } from './errors.ts'

export type UserRole = 'viewer' | 'operator' | 'installer'
/** A named account of the HMI; the password is kept only as its scrypt hash (core/api/auth/hashPassword.ts). */
export type StoredUser = { name: string; role: UserRole; passwordHash: string; createdAtMs: number }

export type UserStore = {
  /** Adds an account; a name already taken is refused and nothing changes. */
  add(user: StoredUser): void
  get(name: string): StoredUser | null
  /** Every account without its hash, by name. */
  list(): Omit<StoredUser, 'passwordHash'>[]
  /** Removes the account and every session it has; false when there was none. */
  remove(name: string): boolean
}

type UserRow = { name: string; role: UserRole; password_hash: string; created_at_ms: number }
const ROLES: readonly UserRole[] = ['viewer', 'operator', 'installer']

/** The accounts table over an open store database (schema v3). */
export function createUserStore(db: Database.Database): UserStore {
  const q = {
    insert: db.prepare('INSERT INTO users (name, role, password_hash, created_at_ms) VALUES (?, ?, ?, ?)'),
    get: db.prepare<[string], UserRow>('SELECT name, role, password_hash, created_at_ms FROM users WHERE name = ?'),
    list: db.prepare<[], UserRow>('SELECT name, role, password_hash, created_at_ms FROM users ORDER BY name'),
    remove: db.prepare('DELETE FROM users WHERE name = ?'),
    removeSessions: db.prepare('DELETE FROM sessions WHERE name = ?'),
  }
  const method = 'users'
  return {
    add(user) {
      if (typeof user.name !== 'string' || !user.name) throw new StoreInputError({ method: `${method}.add`, field: 'name', expected: 'a non-empty name', got: user.name })
      if (!ROLES.includes(user.role)) throw new StoreInputError({ method: `${method}.add`, field: 'role', expected: `one of ${ROLES.join('|')}`, got: user.role })
      if (typeof user.passwordHash !== 'string' || !user.passwordHash.startsWith('scrypt$')) throw new StoreInputError({ method: `${method}.add`, field: 'passwordHash', expected: 'a scrypt hash', got: '(not shown)' })
      if (q.get.get(user.name)) throw new StoreInputError({ method: `${method}.add`, field: 'name', expected: 'a name no account has yet (remove it first to replace it)', got: user.name })
      durably(db, () => q.insert.run(user.name, user.role, user.passwordHash, user.createdAtMs))
    },
    get(name) {
      const row = q.get.get(name)
      return row ? { name: row.name, role: row.role, passwordHash: row.password_hash, createdAtMs: row.created_at_ms } : null
    },
    list: () => q.list.all().map((r) => ({ name: r.name, role: r.role, createdAtMs: r.created_at_ms })),
    remove(name) {
      return durably(db, () => {
        q.removeSessions.run(name)
        return q.remove.run(name).changes > 0
      })
    },
  }
}

// Accounts, the audit and settings are rare operator-facing records: fsynced before the call returns (see createStore.ts).
function durably<T>(db: Database.Database, work: () => T): T {
  db.pragma('synchronous = FULL')
  try {
    return db.transaction(work).immediate()
  } finally {
    db.pragma('synchronous = NORMAL')
  }
}
