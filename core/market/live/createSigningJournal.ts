// What a site signed, kept before it is published (issue 15, "after a kill -9, a site never
// signs two different readings or orders for one interval"): one file per (kind, site,
// interval), written to a temporary name, fsynced, renamed and the folder fsynced, so after
// a crash an entry is either whole or absent; an absent one was never published.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { BaseError } from '../../errors/BaseError.ts'
import { encodeLiveMessage, liveMessageSchema, type LiveMessage } from './liveMessageSchema.ts'

/** A journal entry that cannot be read back: the site must not sign that interval again. */
export class SigningJournalError extends BaseError {
  override name = 'SigningJournalError' as const
}

export type JournalKind = 'order' | 'reading'
type Journaled = Extract<LiveMessage, { kind: JournalKind }>

const entryName = (kind: JournalKind, siteId: number, interval: bigint) => `${kind}-site-${siteId}-${interval}.json`
const entryPattern = /^(order|reading)-site-(\d+)-(\d+)\.json$/

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

/** Opens (creating it) the signing journal of a site in `dir`. */
export function createSigningJournal(dir: string) {
  mkdirSync(dir, { recursive: true })
  // temporary files of a write a crash interrupted were never renamed: never recorded, never published
  for (const name of readdirSync(dir)) if (name.endsWith('.tmp')) rmSync(join(dir, name), { force: true })
  const inFlight = new Map<string, Promise<{ message: Journaled; recorded: boolean }>>()

  const read = (kind: JournalKind, siteId: number, interval: bigint): Journaled | null => {
    const path = join(dir, entryName(kind, siteId, interval))
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw new SigningJournalError(`${path}: cannot read the signed ${kind} of site ${siteId} interval ${interval}; expected the journal entry (the site will not sign that interval again)`, { cause })
    }
    let parsed
    try {
      parsed = liveMessageSchema.safeParse(JSON.parse(text))
    } catch (cause) {
      throw new SigningJournalError(`${path}: not JSON; expected the signed ${kind} of site ${siteId} interval ${interval} (the site will not sign that interval again)`, { cause })
    }
    if (!parsed.success) throw new SigningJournalError(`${path}: ${parsed.error.issues[0]!.path.join('.')}: ${parsed.error.issues[0]!.message}; expected the signed ${kind} of site ${siteId} interval ${interval}`)
    const m = parsed.data as LiveMessage
    if (m.kind !== kind || m.body.siteId !== siteId || m.body.interval !== interval)
      throw new SigningJournalError(`${path}: holds a ${m.kind} of site ${'siteId' in m.body ? m.body.siteId : '-'} interval ${'interval' in m.body ? m.body.interval : '-'}; expected the ${kind} of site ${siteId} interval ${interval}`)
    return m as Journaled
  }

  const write = (m: Journaled): void => {
    const name = entryName(m.kind, m.body.siteId, m.body.interval)
    const tmp = join(dir, `${name}.${process.pid}.tmp`)
    const fd = openSync(tmp, 'wx')
    try {
      writeSync(fd, encodeLiveMessage(m))
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, join(dir, name))
    fsyncDir(dir)
  }

  return {
    dir,
    /**
     * The signed message of (kind, site, interval): the recorded one when there is one
     * (recorded: true), else `sign()`'s, recorded durably before it is returned. Publish only what this returns.
     */
    recordOnce<M extends Journaled>(kind: M['kind'], siteId: number, interval: bigint, sign: () => Promise<M>): Promise<{ message: M; recorded: boolean }> {
      const key = entryName(kind, siteId, interval)
      const running = inFlight.get(key)
      if (running) return running as Promise<{ message: M; recorded: boolean }>
      const job = (async () => {
        const existing = read(kind, siteId, interval)
        if (existing) return { message: existing, recorded: true }
        const message = await sign()
        if (message.kind !== kind || message.body.siteId !== siteId || message.body.interval !== interval)
          throw new SigningJournalError(`signing journal ${dir}: asked for the ${kind} of site ${siteId} interval ${interval}, got a ${message.kind} of site ${message.body.siteId} interval ${message.body.interval}`)
        write(message)
        return { message, recorded: false }
      })()
      inFlight.set(key, job)
      void job.finally(() => inFlight.delete(key)).catch(() => {})
      return job as Promise<{ message: M; recorded: boolean }>
    },
    /** The recorded message of (kind, site, interval), or null. */
    get: read,
    /** Every recorded message of `kind` from `fromInterval` on, by interval: the readings to re-send until they are settled. */
    list<K extends JournalKind>(kind: K, fromInterval = 0n): Extract<LiveMessage, { kind: K }>[] {
      return (readdirSync(dir)
        .map((name) => entryPattern.exec(name))
        .filter((m): m is RegExpExecArray => m !== null && m[1] === kind && BigInt(m[3]!) >= fromInterval)
        .map((m) => read(kind, Number(m[2]), BigInt(m[3]!))!)
        .sort((a, b) => (a.body.interval < b.body.interval ? -1 : a.body.interval > b.body.interval ? 1 : a.body.siteId - b.body.siteId)) as Extract<LiveMessage, { kind: K }>[])
    },
    /** Forgets entries of `kind` before `beforeInterval` (settled and past the dispute window). */
    prune(kind: JournalKind, beforeInterval: bigint): number {
      let removed = 0
      for (const name of readdirSync(dir)) {
        const m = entryPattern.exec(name)
        if (m && m[1] === kind && BigInt(m[3]!) < beforeInterval) {
          rmSync(join(dir, name))
          removed++
        }
      }
      if (removed) fsyncDir(dir)
      return removed
    },
  }
}

export type SigningJournal = ReturnType<typeof createSigningJournal>
