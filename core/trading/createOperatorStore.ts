// What the clearing operator must not forget across a kill -9 (issue 15): the signed orders
// and readings it accepted from the broker (acknowledged messages are not delivered again),
// and per interval what it decided (the orders it cleared, the signed clearing, the
// transactions that carry its commit, settlement and finalization). SQLite, synchronous
// FULL: a decision is on disk before it is published or queued in the outbox.
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Hex } from 'viem'
import type { Clearing } from '../market/clearAuction.ts'
import type { EncodedClearing } from '../market/encodeClearing.ts'
import { fromJsonLine, toJsonLine } from '../market/jsonLines.ts'
import type { LiveMessage } from '../market/live/liveMessageSchema.ts'
import type { SignedMeterReading, SignedOrder } from '../market/signMarketData.ts'

/** One outbox entry that carries (part of) an interval's settlement, with the readings it settles with (null: absent). */
export type SettleAttempt = { key: string; readings: (SignedMeterReading | null)[] }

/** The operator's record of one interval it closed the gate of. */
export type OperatorInterval = {
  interval: bigint
  /** the orders it cleared (accepted before the gate), by site id */
  orders: SignedOrder[]
  clearing: Clearing
  clearingMessage: Extract<LiveMessage, { kind: 'clearing' }>
  /** the commit (a marketStep, possibly carrying an earlier settlement and finalizations); null when nothing traded */
  commit: { key: string; data: Hex; encoded: EncodedClearing; carries: { settle: { interval: bigint; readings: (SignedMeterReading | null)[] } | null; finals: bigint[] } } | null
  /** the site refs the commit snapshotted (committedSiteRefs), once it is mined */
  siteRefs: bigint[] | null
  commitTx: Hex | null
  /** why the commit did not happen (rejected, reverted): the interval then has no trades */
  commitFailed: string | null
  settles: SettleAttempt[]
  settled: { key: string; readings: (SignedMeterReading | null)[]; tx: Hex; atS: bigint } | null
  finalizes: string[]
  finalizeTx: Hex | null
  /** expired (nobody settled within the settle window): final as committed */
  expired: boolean
}

/** Opens (creating it) the operator's store in `dir`. */
export function createOperatorStore(dir: string) {
  mkdirSync(dir, { recursive: true })
  const db = new Database(join(dir, 'operator.db'))
  db.pragma('journal_mode = WAL')
  db.pragma('synchronous = FULL')
  db.exec(`
    CREATE TABLE IF NOT EXISTS intervals (interval TEXT PRIMARY KEY, record TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS messages (kind TEXT NOT NULL, interval TEXT NOT NULL, site_id INTEGER NOT NULL, message TEXT NOT NULL,
      PRIMARY KEY (kind, interval, site_id));
  `)
  const q = {
    put: db.prepare('INSERT INTO intervals (interval, record) VALUES (?, ?) ON CONFLICT(interval) DO UPDATE SET record = excluded.record'),
    get: db.prepare<[string], { record: string }>('SELECT record FROM intervals WHERE interval = ?'),
    since: db.prepare<[string], { record: string }>('SELECT record FROM intervals WHERE CAST(interval AS INTEGER) >= CAST(? AS INTEGER)'),
    keep: db.prepare('INSERT INTO messages (kind, interval, site_id, message) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
    messages: db.prepare<[string, string], { message: string }>('SELECT message FROM messages WHERE kind = ? AND interval = ? ORDER BY site_id'),
  }
  return {
    put: (record: OperatorInterval) => void q.put.run(record.interval.toString(), toJsonLine(record)),
    get: (interval: bigint): OperatorInterval | null => {
      const row = q.get.get(interval.toString())
      return row ? fromJsonLine<OperatorInterval>(row.record) : null
    },
    /** the interval records from `fromInterval` on (default all), oldest first */
    list: (fromInterval = 0n): OperatorInterval[] => q.since.all(fromInterval.toString()).map((r) => fromJsonLine<OperatorInterval>(r.record)).sort((a, b) => (a.interval < b.interval ? -1 : a.interval > b.interval ? 1 : 0)),
    /** keeps the first accepted order or reading of (site, interval) */
    keep: (m: Extract<LiveMessage, { kind: 'order' | 'reading' }>) => void q.keep.run(m.kind, m.body.interval.toString(), m.body.siteId, toJsonLine(m)),
    orders: (interval: bigint): SignedOrder[] => q.messages.all('order', interval.toString()).map((r) => {
      const m = fromJsonLine<Extract<LiveMessage, { kind: 'order' }>>(r.message)
      return { ...m.body, r: m.r, vs: m.vs }
    }),
    readings: (interval: bigint): SignedMeterReading[] => q.messages.all('reading', interval.toString()).map((r) => {
      const m = fromJsonLine<Extract<LiveMessage, { kind: 'reading' }>>(r.message)
      return { ...m.body, r: m.r, vs: m.vs }
    }),
    close: () => db.close(),
  }
}

export type OperatorStore = ReturnType<typeof createOperatorStore>
