import type Database from 'better-sqlite3'
import { StoreInputError } from './errors.ts'
import { checkBoolean, checkFinite, checkQuery, checkText, checkTimeMs, iso, type CsvPage, type CsvRow, writeCsvRows } from './storeChecks.ts'
import type { WriteRecord } from './storeTypes.ts'

type WriteRow = {
  id: number
  time_ms: number
  device: string
  point: string
  requested: number
  written: number
  read_back: number | null
  verified: number
  clamped: number
  reason: string
}

/** The log of every setpoint and limit written to a device: requested, written, read back, verified, clamped and why. */
export function createWriteLog(db: Database.Database) {
  type Page = { from: number; to: number; after: number; limit: number; device: string | null }
  const q = {
  insertWrite: db.prepare(
    `INSERT INTO writes (time_ms, device, point, requested, written, read_back, verified, clamped, reason)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ),
  writes: db.prepare<[Page], WriteRow>(
    `SELECT * FROM writes WHERE time_ms >= @from AND time_ms < @to AND (@device IS NULL OR device = @device) AND id > @after
     ORDER BY id LIMIT @limit`,
  ),
  }

  function recordWrite(w: WriteRecord): void {
    const method = 'recordWrite'
    if (typeof w !== 'object' || w === null) throw new StoreInputError({ method, field: 'w', expected: 'a write record', got: w })
    checkTimeMs(method, 'timeMs', w.timeMs)
    checkText(method, 'device', w.device)
    checkText(method, 'point', w.point)
    checkFinite(method, 'requested', w.requested)
    checkFinite(method, 'written', w.written)
    if (w.readBack !== null) checkFinite(method, 'readBack', w.readBack)
    checkBoolean(method, 'verified', w.verified)
    checkBoolean(method, 'clamped', w.clamped)
    if (typeof w.reason !== 'string') throw new StoreInputError({ method, field: 'reason', expected: 'a string', got: w.reason })
    q.insertWrite.run(w.timeMs, w.device, w.point, w.requested, w.written, w.readBack, w.verified ? 1 : 0, w.clamped ? 1 : 0, w.reason)
  }

  function listWrites(query: { fromMs: number; toMs: number; device?: string }): WriteRecord[] {
    checkQuery('listWrites', query)
    if (query.device !== undefined) checkText('listWrites', 'device', query.device)
    return q.writes.all({ from: query.fromMs, to: query.toMs, device: query.device ?? null, after: -1, limit: -1 }).map(toWrite)
  }

  return {
    recordWrite,
    listWrites,
    writeCsvPage: (params: CsvPage, row: CsvRow) =>
      writeCsvRows(q.writes.all(params), (w) => [iso(w.time_ms), w.device, w.point, w.requested, w.written, w.read_back, w.verified === 1, w.clamped === 1, w.reason], row),
  }
}

function toWrite(r: WriteRow): WriteRecord {
  return {
    timeMs: r.time_ms,
    device: r.device,
    point: r.point,
    requested: r.requested,
    written: r.written,
    readBack: r.read_back,
    verified: r.verified === 1,
    clamped: r.clamped === 1,
    reason: r.reason,
  }
}
