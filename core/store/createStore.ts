// The controller's SQLite store: telemetry in three tiers (raw, 1 min, 15 min), the log of
// device writes, plans, forecasts and alarms with every transition, and CSV export.
//
// Durability: WAL with synchronous=NORMAL. A commit is in the WAL file (the OS page cache)
// when the call returns, so a killed process (kill -9, crash, OOM) loses nothing that
// was acknowledged; only a power loss or kernel crash can roll back the last commits,
// and the database stays consistent. Telemetry is written every second and a lost
// second of it after a blackout is acceptable, an fsync per cycle on an SD card is not.
// Alarm transitions are operator-facing records (who acknowledged what, when), rare, and
// most likely exactly during a power event, so they commit with synchronous=FULL (the
// WAL is fsynced before the call returns).
//
// One database handle, one part per table (telemetry, write log, plans, forecasts, alarms,
// and the HMI's accounts, sessions, audit and settings); this file opens the database and
// composes them into the one Store the controller, the API and the CLI use.
import { once } from 'node:events'
import { checkRetention, type StoreRetention } from './checkRetention.ts'
import { createAlarmStore } from './createAlarmStore.ts'
import { createAuditStore, type AuditStore } from './createAuditStore.ts'
import { createForecastStore } from './createForecastStore.ts'
import { createPlanStore } from './createPlanStore.ts'
import { createSessionStore, type SessionStore } from './createSessionStore.ts'
import { createSettingsStore, type SettingsStore } from './createSettingsStore.ts'
import { checkTier, createTelemetryStore } from './createTelemetryStore.ts'
import { createUserStore, type UserStore } from './createUserStore.ts'
import { createWriteLog } from './createWriteLog.ts'
import { StoreInputError } from './errors.ts'
import { formatCsvRow } from './formatCsvRow.ts'
import { openStoreDatabase } from './openStoreDatabase.ts'
import { checkQuery, PAGE_ROWS } from './storeChecks.ts'
import type {
  Alarm,
  AlarmEvent,
  AlarmFilterState,
  AlarmSeverity,
  ExportQuery,
  ExportTable,
  ForecastKind,
  ForecastRecord,
  PlanDocument,
  TelemetryQuery,
  TelemetryRow,
  TelemetrySample,
  WriteRecord,
} from './storeTypes.ts'

export type * from './storeTypes.ts'
export type { StoreRetention }

export type Store = {
  readonly path: string
  /** Appends samples to the raw tier in one transaction; a repeated (device, point, timeMs) replaces the value. */
  appendTelemetry(samples: readonly TelemetrySample[]): void
  /** Samples or buckets with fromMs <= timeMs < toMs, ordered by device, point, time. */
  queryTelemetry(q: TelemetryQuery): TelemetryRow[]
  /** Every stored (device, point) pair, ordered by device then point. */
  listSeries(): { device: string; point: string }[]
  /** Rolls closed buckets raw -> 1 min -> 15 min and prunes beyond retention; idempotent. */
  downsample(nowMs: number): void
  recordWrite(w: WriteRecord): void
  listWrites(q: { fromMs: number; toMs: number; device?: string }): WriteRecord[]
  savePlan(plan: PlanDocument): number
  latestPlan(): PlanDocument | null
  saveForecast(f: ForecastRecord): number
  forecastsFor(q: { kind: ForecastKind; startMs: number; endMs: number }): (ForecastRecord & { id: number })[]
  /** The open alarm for the key (re-annunciated if it had returned to normal unacknowledged), or a new one. */
  raiseAlarm(a: { key: string; device: string | null; severity: AlarmSeverity; message: string; timeMs: number }): Alarm
  acknowledgeAlarm(id: number, by: string, timeMs: number): Alarm
  clearAlarm(key: string, timeMs: number): Alarm | null
  /** Takes an open alarm out of annunciation until `untilMs`; shelving a shelved alarm moves its expiry. */
  shelveAlarm(id: number, s: { by: string; reason: string; untilMs: number; timeMs: number }): Alarm
  unshelveAlarm(id: number, by: string, timeMs: number): Alarm
  /** Unshelves every alarm whose shelve ran out at or before `timeMs`; returns those that changed. */
  expireShelvedAlarms(timeMs: number): Alarm[]
  listAlarms(q?: { state?: AlarmFilterState; sinceMs?: number }): Alarm[]
  /** Transitions at or after `sinceMs` (of one alarm if `alarmId` is given), oldest first. */
  alarmEvents(sinceMs: number, alarmId?: number): AlarmEvent[]
  exportCsv(table: ExportTable, q: ExportQuery, out: NodeJS.WritableStream): Promise<number>
  /** The HMI's accounts, sessions, command audit and run-time settings (own modules over this database). */
  users: UserStore
  sessions: SessionStore
  audit: AuditStore
  settings: SettingsStore
  close(): void
}

/** How long each tier is kept, in ms; null keeps it forever. Defaults: raw 2 days, 1 min 60 days, 15 min forever. */

export type CreateStoreOptions = { path: string; retention?: StoreRetention; now?: () => number }

const EXPORT_TABLES: readonly ExportTable[] = ['telemetry', 'writes', 'alarms', 'plans', 'forecasts']

const HEADERS = {
  telemetry: ['time', 'device', 'point', 'value'],
  buckets: ['time', 'device', 'point', 'avg', 'min', 'max', 'count'],
  writes: ['time', 'device', 'point', 'requested', 'written', 'read_back', 'verified', 'clamped', 'reason'],
  alarms: ['id', 'key', 'device', 'severity', 'message', 'state', 'raised_at', 'acknowledged_at', 'acknowledged_by', 'cleared_at', 'shelved_until', 'shelved_by', 'shelve_reason'],
  plans: ['id', 'version', 'created_at', 'document'],
  forecasts: ['forecast_id', 'created_at', 'kind', 'model', 'slot_start', 'slot_ms', 'value_w'],
}

/** Opens (or creates and migrates) the store at `path`; a file it cannot use is left untouched. */
export function createStore({ path, retention = {}, now = Date.now }: CreateStoreOptions): Store {
  const keep = checkRetention(retention)
  const db = openStoreDatabase(path, now)
  const telemetry = createTelemetryStore(db, keep)
  const writes = createWriteLog(db)
  const plans = createPlanStore(db)
  const forecasts = createForecastStore(db)
  const alarms = createAlarmStore(db)
  const pagedTables = { writes, alarms, plans, forecasts }

  async function exportCsv(table: ExportTable, query: ExportQuery, out: NodeJS.WritableStream): Promise<number> {
    const method = 'exportCsv'
    if (!EXPORT_TABLES.includes(table)) throw new StoreInputError({ method, field: 'table', expected: `one of ${EXPORT_TABLES.join(', ')}`, got: table })
    checkQuery(method, query)
    const tier = checkTier(method, query.tier)
    if (table !== 'telemetry' && query.tier !== undefined) {
      throw new StoreInputError({ method, field: 'tier', expected: 'no tier (only telemetry has tiers)', got: query.tier })
    }
    const { fromMs, toMs } = query
    let buffer = ''
    let count = 0
    // A stream that fails (disk full, closed pipe) ends the export with its error.
    let streamError: unknown = null
    const onError = (error: unknown) => {
      streamError ??= error
    }
    out.on('error', onError)
    try {
      return await writeRows()
    } finally {
      out.removeListener('error', onError)
    }

    async function writeRows(): Promise<number> {
      // Pages of rows instead of an open cursor: between pages the connection stays free
      // for the control loop, which shares it.
      const flush = async () => {
        if (streamError !== null) throw streamError
        if ((out as { destroyed?: boolean }).destroyed === true) throw new Error('exportCsv: the output stream was closed before the export ended')
        if (buffer === '') return
        const chunk = buffer
        buffer = ''
        if (!out.write(chunk)) await once(out, 'drain')
      }
      const row = async (fields: (string | number | boolean | null)[]) => {
        buffer += formatCsvRow(fields)
        count++
        if (buffer.length >= 65_536) await flush()
      }
      // raw rows come in time order, tier rows by device, point, then time
      buffer += formatCsvRow(HEADERS[table === 'telemetry' && tier !== 'raw' ? 'buckets' : table])
      if (table === 'telemetry') await telemetry.writeCsv({ fromMs, toMs }, tier, row)
      else {
        const pageRows = table === 'plans' ? 50 : PAGE_ROWS
        let after = -1
        for (;;) {
          const { size, last } = await pagedTables[table].writeCsvPage({ from: fromMs, to: toMs, after, limit: pageRows, device: null }, row)
          if (size < pageRows) break
          after = last
        }
      }
      await flush()
      return count
    }
  }

  return {
    path,
    appendTelemetry: telemetry.appendTelemetry,
    queryTelemetry: telemetry.queryTelemetry,
    listSeries: telemetry.listSeries,
    downsample: telemetry.downsample,
    recordWrite: writes.recordWrite,
    listWrites: writes.listWrites,
    savePlan: plans.savePlan,
    latestPlan: plans.latestPlan,
    saveForecast: forecasts.saveForecast,
    forecastsFor: forecasts.forecastsFor,
    raiseAlarm: alarms.raiseAlarm,
    acknowledgeAlarm: alarms.acknowledgeAlarm,
    clearAlarm: alarms.clearAlarm,
    shelveAlarm: alarms.shelveAlarm,
    unshelveAlarm: alarms.unshelveAlarm,
    expireShelvedAlarms: alarms.expireShelvedAlarms,
    listAlarms: alarms.listAlarms,
    alarmEvents: alarms.alarmEvents,
    exportCsv,
    users: createUserStore(db),
    sessions: createSessionStore(db),
    audit: createAuditStore(db),
    settings: createSettingsStore(db),
    close: () => db.close(),
  }
}
