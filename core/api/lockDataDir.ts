import { randomBytes } from 'node:crypto'
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { BaseError } from '../errors/BaseError.ts'

export class DataDirInUseError extends BaseError {
  override name = 'DataDirInUseError' as const
}

/** The lock cannot be written or taken at all (not: someone else has it). */
export class DataDirLockError extends BaseError {
  override name = 'DataDirLockError' as const
}

/** `<data>/gridmesh.lock`: who owns the data folder. */
type LockRecord = { pid: number; host: string; startedAt: string; processStart: string | null; nonce: string }

export type DataDirLock = {
  readonly path: string
  /** What the start did about a lock left behind, if anything (for the log). */
  readonly tookOver: string | null
  /** Removes the lock if it is still this owner's. */
  release(): void
}

/** The kernel's start time of `pid` (clock ticks since boot), which a reused pid does not share; null without /proc. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name (which may hold spaces and parentheses); starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** True while the process that wrote `record` runs: same pid, not a zombie, and (with /proc) the same process, not a reuse of its pid. */
function ownerRuns(record: LockRecord): boolean {
  try {
    process.kill(record.pid, 0)
  } catch (error) {
    // EPERM: the pid runs under another user, so it is some process; the start time below decides whether it is the owner.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    const stat = readFileSync(`/proc/${record.pid}/stat`, 'utf8')
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') return false
  } catch {
    return true // no /proc: kill(0) has to do
  }
  return record.processStart === null || processStart(record.pid) === record.processStart
}

function readRecord(text: string): LockRecord | null {
  try {
    const r = JSON.parse(text) as LockRecord
    return Number.isInteger(r.pid) && typeof r.host === 'string' && typeof r.nonce === 'string' ? r : null
  } catch {
    return null
  }
}

/**
 * Makes this process the one owner of a data folder, or refuses by name. Two services on
 * one folder would both command the batteries and replace each other's token. The lock
 * file appears complete or not at all (written aside, then hard-linked into place, which
 * fails if one exists); a lock whose process is gone (killed with SIGKILL, or a crash)
 * is taken over. A lock from another host cannot be checked and is refused.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = join(dataDir, 'gridmesh.lock')
  const mine: LockRecord = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), processStart: processStart(process.pid), nonce: randomBytes(8).toString('hex') }
  const mineText = `${JSON.stringify(mine)}\n`
  const tmp = `${path}.${process.pid}.${mine.nonce}.tmp`
  let tookOver: string | null = null
  try {
    writeFileSync(tmp, mineText, { mode: 0o600 })
  } catch (cause) {
    throw new DataDirLockError(`${dataDir}: cannot write the lock file ${path} (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); expected a folder this user can write`, { cause })
  }
  // Hard links make the lock appear whole; a file system without them (FAT on a USB stick) gets an exclusive create instead.
  const place = () => {
    try {
      linkSync(tmp, path)
    } catch (error) {
      if (!['EPERM', 'ENOTSUP', 'ENOSYS'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error
      writeFileSync(path, mineText, { mode: 0o600, flag: 'wx' })
    }
  }
  try {
    // A few rounds: each either takes the lock, refuses, or clears a dead owner's lock for the next round.
    for (let round = 0; round < 5; round++) {
      try {
        place()
        return {
          path,
          tookOver,
          release() {
            let text: string
            try {
              text = readFileSync(path, 'utf8')
            } catch {
              return // already gone
            }
            if (text === mineText) rmSync(path, { force: true })
          },
        }
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      }
      let text: string
      try {
        text = readFileSync(path, 'utf8')
      } catch {
        continue // removed between our link and read: try again
      }
      const owner = readRecord(text)
      if (owner && owner.host !== mine.host)
        throw new DataDirInUseError(`${dataDir} is in use by GridMesh pid ${owner.pid} on host ${owner.host} (started ${owner.startedAt})`, {
          metaMessages: [`If that host no longer runs it, remove ${path} and start again.`],
        })
      if (owner && ownerRuns(owner))
        throw new DataDirInUseError(`${dataDir} is in use by GridMesh pid ${owner.pid} (started ${owner.startedAt})`, {
          metaMessages: ['One GridMesh per data folder: stop that one first, or give this one another --data folder.'],
        })
      // The owner is gone. Move its lock aside (one mover wins), and check that what moved is
      // what was judged dead: another start may have taken over in between.
      const aside = `${path}.${process.pid}.${mine.nonce}.stale`
      try {
        renameSync(path, aside)
      } catch {
        continue
      }
      const moved = readFileSync(aside, 'utf8')
      if (moved !== text) {
        try {
          linkSync(aside, path) // put the live owner's lock back
        } catch {
          // someone locked meanwhile; theirs stands
        }
        rmSync(aside, { force: true })
        continue
      }
      rmSync(aside, { force: true })
      tookOver = owner ? `took over ${path} from pid ${owner.pid} (started ${owner.startedAt}), which no longer runs` : `replaced ${path}, which was not a lock record`
    }
    throw new DataDirLockError(`${dataDir}: cannot take ${path}: other starts keep racing for it`)
  } finally {
    rmSync(tmp, { force: true })
  }
}
