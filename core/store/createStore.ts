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
import { accessSync, constants, statSync } from 'node:fs'
import { once } from 'node:events'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { AlarmNotOpenError, StoreInputError, StoreOpenError } from './errors.ts'
import { formatCsvRow } from './formatCsvRow.ts'
import { migrateStore, STORE_SCHEMA_VERSION } from './migrateStore.ts'
import { createAuditStore, type AuditStore } from './createAuditStore.ts'
import { createSessionStore, type SessionStore } from './createSessionStore.ts'
import { createSettingsStore, type SettingsStore } from './createSettingsStore.ts'
import { createUserStore, type UserStore } from './createUserStore.ts'
import { ALARM_STATES, transitionAlarm, type AlarmInput, type AlarmState } from './transitionAlarm.ts'

export type TelemetrySample = { timeMs: number; device: string; point: string; value: number }
export type TelemetryTier = 'raw' | '1m' | '15m'
export type TelemetryQuery = { device?: string; point?: string; fromMs: number; toMs: number; tier?: TelemetryTier }
/** A raw sample, or a bucket (value = average, min, max) starting at timeMs. */
export type TelemetryRow = { timeMs: number; device: string; point: string; value: number; min?: number; max?: number }
export type WriteRecord = {
  timeMs: number
  device: string
  point: string
  requested: number
  written: number
  readBack: number | null
  verified: boolean
  clamped: boolean
  reason: string
}
export type PlanDocument = Record<string, unknown> & { version: number; createdAtMs: number }
export type ForecastKind = 'load' | 'pv'
export type ForecastRecord = { createdAtMs: number; kind: ForecastKind; model: string; startMs: number; slotMs: number; valuesW: number[] }
export type AlarmSeverity = 'info' | 'warning' | 'critical'
export type { AlarmState }
/** An ISA-18.2 state, or a group: `active` (unacknowledged or acknowledged: the condition holds and is annunciated), `open` (not normal). */
export type AlarmFilterState = AlarmState | 'active' | 'open'
export type Alarm = {
  id: number
  key: string
  device: string | null
  severity: AlarmSeverity
  message: string
  state: AlarmState
  /** Whether the condition holds now (also while shelved). */
  conditionActive: boolean
  raisedAtMs: number
  acknowledgedAtMs: number | null
  acknowledgedBy: string | null
  clearedAtMs: number | null
  /** Set while shelved: who, when, why and until when. */
  shelvedAtMs: number | null
  shelvedBy: string | null
  shelvedUntilMs: number | null
  shelveReason: string | null
  /** The last transition. */
  changedAtMs: number
}
export type AlarmAction = AlarmInput['type']
/** One transition of one alarm: what happened, the state it led to, who did it, why and until when (shelve). */
export type AlarmEvent = { alarmId: number; action: AlarmAction; state: AlarmState; timeMs: number; by: string | null; reason: string | null; untilMs: number | null }
export type ExportTable = 'telemetry' | 'writes' | 'alarms' | 'plans' | 'forecasts'
export type ExportQuery = { fromMs: number; toMs: number; tier?: TelemetryTier }

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
export type StoreRetention = { rawMs?: number; oneMinuteMs?: number; fifteenMinuteMs?: number | null }
export type CreateStoreOptions = { path: string; retention?: StoreRetention; now?: () => number }

const MINUTE_MS = 60_000
const QUARTER_MS = 15 * MINUTE_MS
const DAY_MS = 86_400_000
const TIERS: readonly TelemetryTier[] = ['raw', '1m', '15m']
const EXPORT_TABLES: readonly ExportTable[] = ['telemetry', 'writes', 'alarms', 'plans', 'forecasts']
const SEVERITIES: readonly AlarmSeverity[] = ['info', 'warning', 'critical']
const ALARM_FILTERS: readonly AlarmFilterState[] = [...ALARM_STATES, 'active', 'open']
const PAGE_ROWS = 5_000

type AlarmRow = {
  id: number
  key: string
  device: string | null
  severity: AlarmSeverity
  message: string
  state: AlarmState
  condition_active: number
  raised_at_ms: number
  acknowledged_at_ms: number | null
  acknowledged_by: string | null
  cleared_at_ms: number | null
  shelved_at_ms: number | null
  shelved_by: string | null
  shelved_until_ms: number | null
  shelve_reason: string | null
  changed_at_ms: number
}
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
type ForecastRow = { id: number; created_at_ms: number; kind: ForecastKind; model: string; start_ms: number; slot_ms: number; values_w: string }
type RollupState = { tier: TelemetryTier; rolled_before_ms: number; pruned_before_ms: number }
type Series = { id: number; device: string; point: string }

const floorTo = (ms: number, bucketMs: number) => Math.floor(ms / bucketMs) * bucketMs
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

/** Opens (or creates and migrates) the store at `path`; a file it cannot use is left untouched. */
export function createStore({ path, retention = {}, now = Date.now }: CreateStoreOptions): Store {
  const keep = checkRetention(retention)
  const db = openDatabase(path, now)
  const q = prepare(db)
  const seriesIds = new Map<string, number>()
  for (const s of q.allSeries.all()) seriesIds.set(seriesKey(s.device, s.point), s.id)

  const durably = <T>(work: () => T): T => {
    db.pragma('synchronous = FULL')
    try {
      return db.transaction(work).immediate()
    } finally {
      db.pragma('synchronous = NORMAL')
    }
  }
  const rollupState = () => Object.fromEntries(q.rollupState.all().map((r) => [r.tier, r])) as Record<TelemetryTier, RollupState>

  const appendTx = db.transaction((samples: readonly TelemetrySample[]) => {
    const state = rollupState()
    let minTimeMs = Infinity
    const added: [string, number][] = []
    samples.forEach((s, i) => {
      // Older than the pruned horizon would be neither kept nor rolled up: refuse it.
      if (s.timeMs < state.raw.pruned_before_ms) {
        throw new StoreInputError({
          method: 'appendTelemetry',
          field: `samples[${i}].timeMs`,
          expected: `a time at or after ${iso(state.raw.pruned_before_ms)} (older raw data was already rolled up and pruned)`,
          got: s.timeMs,
        })
      }
      const key = seriesKey(s.device, s.point)
      let id = seriesIds.get(key) ?? added.find(([k]) => k === key)?.[1]
      if (id === undefined) {
        // another connection to the same file may have added it since this one cached
        q.addSeries.run(s.device, s.point)
        id = q.seriesId.get(s.device, s.point)!
        added.push([key, id])
      }
      q.insertRaw.run(id, s.timeMs, s.value)
      if (s.timeMs < minTimeMs) minTimeMs = s.timeMs
    })
    // A late sample in a bucket already rolled up: roll that bucket again next time.
    if (minTimeMs < state['1m'].rolled_before_ms) q.setRolled.run(floorTo(minTimeMs, MINUTE_MS), '1m')
    return added
  })

  function appendTelemetry(samples: readonly TelemetrySample[]): void {
    const method = 'appendTelemetry'
    if (!Array.isArray(samples)) throw new StoreInputError({ method, field: 'samples', expected: 'an array of samples', got: samples })
    samples.forEach((s, i) => {
      const at = `samples[${i}]`
      if (typeof s !== 'object' || s === null) throw new StoreInputError({ method, field: at, expected: 'a sample object', got: s })
      checkTimeMs(method, `${at}.timeMs`, s.timeMs)
      checkText(method, `${at}.device`, s.device)
      checkText(method, `${at}.point`, s.point)
      checkFinite(method, `${at}.value`, s.value)
    })
    if (samples.length === 0) return
    const added = appendTx.immediate(samples)
    for (const [key, id] of added) seriesIds.set(key, id)
  }

  function seriesMatching(device: string | undefined, point: string | undefined): Series[] {
    return q.allSeries.all().filter((s) => (device === undefined || s.device === device) && (point === undefined || s.point === point))
  }

  function queryTelemetry(query: TelemetryQuery): TelemetryRow[] {
    const method = 'queryTelemetry'
    checkQuery(method, query)
    const { fromMs, toMs } = query
    const tier = checkTier(method, query.tier)
    if (query.device !== undefined) checkText(method, 'device', query.device)
    if (query.point !== undefined) checkText(method, 'point', query.point)
    const series = seriesMatching(query.device, query.point)
    if (tier === 'raw') {
      // raw is clustered by time: one scan of the range, sorted into series here
      const bySeries = new Map(series.map((s) => [s.id, { s, rows: [] as TelemetryRow[] }]))
      const only = series.length === 1 ? series[0]!.id : null
      if (series.length > 0) {
        for (const [timeMs, seriesId, value] of q.rawRange.all({ from: fromMs, to: toMs, series: only, afterTime: -1, afterSeries: -1, limit: -1 })) {
          const entry = bySeries.get(seriesId)
          entry?.rows.push({ timeMs, device: entry.s.device, point: entry.s.point, value })
        }
      }
      return [...bySeries.values()].flatMap((entry) => entry.rows)
    }
    const rows: TelemetryRow[] = []
    const range = tier === '1m' ? q.oneMinuteRange : q.quarterRange
    for (const s of series) {
      for (const [timeMs, value, min, max] of range.all(s.id, fromMs, toMs, -1, -1)) rows.push({ timeMs, device: s.device, point: s.point, value, min, max })
    }
    return rows
  }

  const downsampleTx = db.transaction((nowMs: number) => {
    const state = rollupState()
    const series = q.allSeries.all()
    const from1 = state['1m'].rolled_before_ms
    const end1 = floorTo(nowMs, MINUTE_MS)
    let from15 = state['15m'].rolled_before_ms
    if (end1 > from1) {
      q.rollMinute.run(from1, end1)
      q.setRolled.run(end1, '1m')
      from15 = Math.min(from15, floorTo(from1, QUARTER_MS))
    }
    const rolled1 = Math.max(from1, end1)
    const end15 = floorTo(rolled1, QUARTER_MS)
    if (end15 > from15) {
      for (const s of series) q.rollQuarter.run(s.id, from15, end15)
      q.setRolled.run(end15, '15m')
    }
    const rolled15 = Math.max(from15, end15)
    // Cuts fall on bucket starts so a bucket above a cut still has all its source rows.
    const prune = (tier: TelemetryTier, cutMs: number, del: (cutMs: number) => void) => {
      if (cutMs <= state[tier].pruned_before_ms) return
      del(cutMs)
      q.setPruned.run(cutMs, tier)
    }
    prune('raw', floorTo(Math.min(nowMs - keep.rawMs, rolled1), MINUTE_MS), (cut) => q.pruneRaw.run(cut))
    prune('1m', floorTo(Math.min(nowMs - keep.oneMinuteMs, rolled15), QUARTER_MS), (cut) => series.forEach((s) => q.pruneMinute.run(s.id, cut)))
    if (keep.fifteenMinuteMs !== null) {
      prune('15m', floorTo(nowMs - keep.fifteenMinuteMs, QUARTER_MS), (cut) => series.forEach((s) => q.pruneQuarter.run(s.id, cut)))
    }
  })

  function downsample(nowMs: number): void {
    checkTimeMs('downsample', 'nowMs', nowMs)
    downsampleTx.immediate(nowMs)
    // Checkpoint here, in the once-a-minute housekeeping call, so the WAL rarely reaches
    // the auto-checkpoint size inside a cycle's append (a checkpoint fsyncs). PASSIVE never
    // waits for readers such as a running export.
    db.pragma('wal_checkpoint(PASSIVE)')
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

  function savePlan(plan: PlanDocument): number {
    const method = 'savePlan'
    if (typeof plan !== 'object' || plan === null || Array.isArray(plan)) {
      throw new StoreInputError({ method, field: 'plan', expected: 'a plan object', got: plan })
    }
    if (!Number.isSafeInteger(plan.version)) throw new StoreInputError({ method, field: 'plan.version', expected: 'an integer', got: plan.version })
    checkTimeMs(method, 'plan.createdAtMs', plan.createdAtMs)
    // JSON would turn NaN and Infinity into null without a word.
    const bad = findNonFinite(plan, 'plan')
    if (bad) throw new StoreInputError({ method, field: bad.path, expected: 'a finite number (JSON cannot hold it)', got: bad.value })
    return Number(q.insertPlan.run(plan.version, plan.createdAtMs, JSON.stringify(plan)).lastInsertRowid)
  }

  function latestPlan(): PlanDocument | null {
    const row = q.latestPlan.get()
    return row ? (JSON.parse(row.document) as PlanDocument) : null
  }

  function saveForecast(f: ForecastRecord): number {
    const method = 'saveForecast'
    if (typeof f !== 'object' || f === null) throw new StoreInputError({ method, field: 'forecast', expected: 'a forecast object', got: f })
    checkTimeMs(method, 'createdAtMs', f.createdAtMs)
    checkKind(method, f.kind)
    checkText(method, 'model', f.model)
    checkTimeMs(method, 'startMs', f.startMs)
    if (!Number.isSafeInteger(f.slotMs) || f.slotMs <= 0) throw new StoreInputError({ method, field: 'slotMs', expected: 'a positive integer of milliseconds', got: f.slotMs })
    if (!Array.isArray(f.valuesW) || f.valuesW.length === 0) throw new StoreInputError({ method, field: 'valuesW', expected: 'a non-empty array of numbers', got: f.valuesW })
    f.valuesW.forEach((v, i) => checkFinite(method, `valuesW[${i}]`, v))
    const endMs = f.startMs + f.slotMs * f.valuesW.length
    return Number(q.insertForecast.run(f.createdAtMs, f.kind, f.model, f.startMs, f.slotMs, endMs, JSON.stringify(f.valuesW)).lastInsertRowid)
  }

  function forecastsFor(query: { kind: ForecastKind; startMs: number; endMs: number }): (ForecastRecord & { id: number })[] {
    const method = 'forecastsFor'
    checkKind(method, query.kind)
    checkFinite(method, 'startMs', query.startMs)
    checkFinite(method, 'endMs', query.endMs)
    if (query.startMs > query.endMs) {
      throw new StoreInputError({ method, field: 'startMs', expected: `a time at or before endMs (${query.endMs})`, got: query.startMs })
    }
    return q.forecasts.all(query.kind, query.startMs, query.endMs).map(toForecast)
  }

  // Applies one input through the state machine and records the transition; an input the
  // state does not allow throws and changes nothing.
  function applyAlarm(method: string, row: AlarmRow, input: AlarmInput, timeMs: number, who: { by: string | null; reason?: string }): Alarm {
    const t = transitionAlarm({ state: row.state, conditionActive: row.condition_active === 1, shelvedUntilMs: row.shelved_until_ms }, input, timeMs)
    if (!t.ok) throw new AlarmNotOpenError({ method, alarmId: row.id, problem: t.problem })
    if (!t.changed) return toAlarm(row)
    const next = { ...row, state: t.facts.state, condition_active: t.facts.conditionActive ? 1 : 0, shelved_until_ms: t.facts.shelvedUntilMs, changed_at_ms: timeMs }
    if (input.type === 'acknowledge') Object.assign(next, { acknowledged_at_ms: timeMs, acknowledged_by: who.by })
    if (input.type === 'clear') next.cleared_at_ms = timeMs
    if (input.type === 'raise' && row.condition_active === 0) next.cleared_at_ms = null
    if (input.type === 'shelve') Object.assign(next, { shelved_at_ms: timeMs, shelved_by: who.by, shelve_reason: who.reason ?? null })
    // the shelve itself stays in the alarm's events
    if (t.facts.state !== 'shelved') Object.assign(next, { shelved_at_ms: null, shelved_by: null, shelve_reason: null })
    q.updateAlarm.run(next)
    q.insertEvent.run({ alarmId: row.id, action: input.type, state: next.state, timeMs, by: who.by, reason: who.reason ?? null, untilMs: input.type === 'shelve' ? input.untilMs : null })
    return toAlarm(next)
  }

  const alarmById = (method: string, id: number): AlarmRow => {
    const row = q.alarm.get(id)
    if (!row) throw new AlarmNotOpenError({ method, alarmId: id, problem: 'does not exist' })
    return row
  }

  function raiseAlarm(a: { key: string; device: string | null; severity: AlarmSeverity; message: string; timeMs: number }): Alarm {
    const method = 'raiseAlarm'
    if (typeof a !== 'object' || a === null) throw new StoreInputError({ method, field: 'alarm', expected: 'an alarm object', got: a })
    checkText(method, 'key', a.key)
    if (a.device !== null) checkText(method, 'device', a.device)
    if (!SEVERITIES.includes(a.severity)) throw new StoreInputError({ method, field: 'severity', expected: `one of ${SEVERITIES.join(', ')}`, got: a.severity })
    if (typeof a.message !== 'string') throw new StoreInputError({ method, field: 'message', expected: 'a string', got: a.message })
    checkTimeMs(method, 'timeMs', a.timeMs)
    return durably(() => {
      const open = q.openAlarm.get(a.key)
      if (open) return applyAlarm(method, open, { type: 'raise' }, a.timeMs, { by: null })
      const id = Number(q.insertAlarm.run(a.key, a.device, a.severity, a.message, a.timeMs, a.timeMs).lastInsertRowid)
      q.insertEvent.run({ alarmId: id, action: 'raise', state: 'unacknowledged', timeMs: a.timeMs, by: null, reason: null, untilMs: null })
      return toAlarm(q.alarm.get(id)!)
    })
  }

  function acknowledgeAlarm(id: number, by: string, timeMs: number): Alarm {
    const method = 'acknowledgeAlarm'
    if (!Number.isSafeInteger(id)) throw new StoreInputError({ method, field: 'id', expected: 'an alarm id (integer)', got: id })
    checkText(method, 'by', by)
    checkTimeMs(method, 'timeMs', timeMs)
    return durably(() => applyAlarm(method, alarmById(method, id), { type: 'acknowledge' }, timeMs, { by }))
  }

  function clearAlarm(key: string, timeMs: number): Alarm | null {
    checkText('clearAlarm', 'key', key)
    checkTimeMs('clearAlarm', 'timeMs', timeMs)
    return durably(() => {
      const open = q.openAlarm.get(key)
      if (!open || open.condition_active === 0) return null
      return applyAlarm('clearAlarm', open, { type: 'clear' }, timeMs, { by: null })
    })
  }

  function shelveAlarm(id: number, shelve: { by: string; reason: string; untilMs: number; timeMs: number }): Alarm {
    const method = 'shelveAlarm'
    if (!Number.isSafeInteger(id)) throw new StoreInputError({ method, field: 'id', expected: 'an alarm id (integer)', got: id })
    if (typeof shelve !== 'object' || shelve === null) throw new StoreInputError({ method, field: 'shelve', expected: 'an object with by, reason, untilMs and timeMs', got: shelve })
    checkText(method, 'by', shelve.by)
    // ISA-18.2 wants shelving to be a recorded decision: a reason is part of it.
    if (typeof shelve.reason !== 'string' || shelve.reason.trim() === '') throw new StoreInputError({ method, field: 'reason', expected: 'a non-empty reason', got: shelve.reason })
    checkTimeMs(method, 'timeMs', shelve.timeMs)
    checkTimeMs(method, 'untilMs', shelve.untilMs)
    if (shelve.untilMs <= shelve.timeMs) throw new StoreInputError({ method, field: 'untilMs', expected: `a time after timeMs (${iso(shelve.timeMs)})`, got: shelve.untilMs })
    return durably(() => applyAlarm(method, alarmById(method, id), { type: 'shelve', untilMs: shelve.untilMs }, shelve.timeMs, { by: shelve.by, reason: shelve.reason }))
  }

  function unshelveAlarm(id: number, by: string, timeMs: number): Alarm {
    const method = 'unshelveAlarm'
    if (!Number.isSafeInteger(id)) throw new StoreInputError({ method, field: 'id', expected: 'an alarm id (integer)', got: id })
    checkText(method, 'by', by)
    checkTimeMs(method, 'timeMs', timeMs)
    return durably(() => applyAlarm(method, alarmById(method, id), { type: 'unshelve' }, timeMs, { by }))
  }

  function expireShelvedAlarms(timeMs: number): Alarm[] {
    checkTimeMs('expireShelvedAlarms', 'timeMs', timeMs)
    // Most calls find nothing: look before taking the write lock and an fsync.
    if (q.shelvedDue.all(timeMs).length === 0) return []
    return durably(() => q.shelvedDue.all(timeMs).map((row) => applyAlarm('expireShelvedAlarms', row, { type: 'expire' }, timeMs, { by: null })))
  }

  function listAlarms(query: { state?: AlarmFilterState; sinceMs?: number } = {}): Alarm[] {
    const method = 'listAlarms'
    if (query.state !== undefined && !ALARM_FILTERS.includes(query.state)) {
      throw new StoreInputError({ method, field: 'state', expected: `one of ${ALARM_FILTERS.join(', ')}`, got: query.state })
    }
    if (query.sinceMs !== undefined) checkFinite(method, 'sinceMs', query.sinceMs)
    return q.alarms.all({ state: query.state ?? null, since: query.sinceMs ?? null }).map(toAlarm)
  }

  function alarmEvents(sinceMs: number, alarmId?: number): AlarmEvent[] {
    checkFinite('alarmEvents', 'sinceMs', sinceMs)
    if (alarmId !== undefined && !Number.isSafeInteger(alarmId)) throw new StoreInputError({ method: 'alarmEvents', field: 'alarmId', expected: 'an alarm id (integer)', got: alarmId })
    return q.events.all({ since: sinceMs, alarmId: alarmId ?? null })
  }

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
      if (table === 'telemetry' && tier === 'raw') {
        // in time order (the raw tier's clustering), keyset-paged on (time, series)
        let names = new Map<number, Series>()
        const name = (id: number) => {
          // a series the loop added after the export started
          if (!names.has(id)) names = new Map(q.allSeries.all().map((s) => [s.id, s]))
          return names.get(id)!
        }
        let [afterTime, afterSeries] = [-1, -1]
        for (;;) {
          const page = q.rawRange.all({ from: Math.max(fromMs, afterTime), to: toMs, series: null, afterTime, afterSeries, limit: PAGE_ROWS })
          for (const [timeMs, seriesId, value] of page) await row([iso(timeMs), name(seriesId).device, name(seriesId).point, value])
          if (page.length < PAGE_ROWS) break
          ;[afterTime, afterSeries] = page[page.length - 1]!
        }
      } else if (table === 'telemetry') {
        const range = tier === '1m' ? q.oneMinuteRange : q.quarterRange
        for (const s of seriesMatching(undefined, undefined)) {
          let after = -1
          for (;;) {
            const page = range.all(s.id, fromMs, toMs, after, PAGE_ROWS)
            for (const r of page) await row([iso(r[0]), s.device, s.point, ...r.slice(1)])
            if (page.length < PAGE_ROWS) break
            after = page[page.length - 1]![0]
          }
        }
      } else {
        const pageRows = table === 'plans' ? 50 : PAGE_ROWS
        let after = -1
        for (;;) {
          let last = -1
          let size = 0
          const params = { from: fromMs, to: toMs, after, limit: pageRows, device: null }
          if (table === 'writes') {
            const page = q.writes.all(params)
            for (const w of page) await row([iso(w.time_ms), w.device, w.point, w.requested, w.written, w.read_back, w.verified === 1, w.clamped === 1, w.reason])
            ;[size, last] = [page.length, page.at(-1)?.id ?? -1]
          } else if (table === 'alarms') {
            const page = q.alarmsRaised.all(params)
            for (const a of page) {
              await row([a.id, a.key, a.device, a.severity, a.message, a.state, iso(a.raised_at_ms), iso(a.acknowledged_at_ms), a.acknowledged_by, iso(a.cleared_at_ms), iso(a.shelved_until_ms), a.shelved_by, a.shelve_reason])
            }
            ;[size, last] = [page.length, page.at(-1)?.id ?? -1]
          } else if (table === 'plans') {
            const page = q.plans.all(params)
            for (const p of page) await row([p.id, p.version, iso(p.created_at_ms), p.document])
            ;[size, last] = [page.length, page.at(-1)?.id ?? -1]
          } else {
            const page = q.forecastsPage.all(params)
            for (const f of page) {
              const values = JSON.parse(f.values_w) as number[]
              for (let i = 0; i < values.length; i++) {
                const slotMs = f.start_ms + i * f.slot_ms
                if (slotMs >= fromMs && slotMs < toMs) await row([f.id, iso(f.created_at_ms), f.kind, f.model, iso(slotMs), f.slot_ms, values[i]!])
              }
            }
            ;[size, last] = [page.length, page.at(-1)?.id ?? -1]
          }
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
    appendTelemetry,
    queryTelemetry,
    listSeries: () => q.allSeries.all().map(({ device, point }) => ({ device, point })),
    downsample,
    recordWrite,
    listWrites,
    savePlan,
    latestPlan,
    saveForecast,
    forecastsFor,
    raiseAlarm,
    acknowledgeAlarm,
    clearAlarm,
    shelveAlarm,
    unshelveAlarm,
    expireShelvedAlarms,
    listAlarms,
    alarmEvents,
    exportCsv,
    users: createUserStore(db),
    sessions: createSessionStore(db),
    audit: createAuditStore(db),
    settings: createSettingsStore(db),
    close: () => db.close(),
  }
}

const HEADERS = {
  telemetry: ['time', 'device', 'point', 'value'],
  buckets: ['time', 'device', 'point', 'avg', 'min', 'max', 'count'],
  writes: ['time', 'device', 'point', 'requested', 'written', 'read_back', 'verified', 'clamped', 'reason'],
  alarms: ['id', 'key', 'device', 'severity', 'message', 'state', 'raised_at', 'acknowledged_at', 'acknowledged_by', 'cleared_at', 'shelved_until', 'shelved_by', 'shelve_reason'],
  plans: ['id', 'version', 'created_at', 'document'],
  forecasts: ['forecast_id', 'created_at', 'kind', 'model', 'slot_start', 'slot_ms', 'value_w'],
}

function prepare(db: Database.Database) {
  // Range statements take (series, from, to, after, limit): `after` and `limit` page the export.
  const tierRange = (table: string) =>
    db
      .prepare<[number, number, number, number, number], [number, number, number, number, number]>(
        `SELECT time_ms, avg, min, max, count FROM ${table}
         WHERE series_id = ? AND time_ms >= ? AND time_ms < ? AND time_ms > ? ORDER BY time_ms LIMIT ?`,
      )
      .raw()
  type Page = { from: number; to: number; after: number; limit: number; device: string | null }
  return {
    allSeries: db.prepare<[], Series>('SELECT id, device, point FROM series ORDER BY device, point'),
    addSeries: db.prepare('INSERT INTO series (device, point) VALUES (?, ?) ON CONFLICT (device, point) DO NOTHING'),
    seriesId: db.prepare<[string, string], number>('SELECT id FROM series WHERE device = ? AND point = ?').pluck(),
    insertRaw: db.prepare(
      `INSERT INTO telemetry_raw (series_id, time_ms, value) VALUES (?, ?, ?)
       ON CONFLICT (series_id, time_ms) DO UPDATE SET value = excluded.value`,
    ),
    rawRange: db
      .prepare<[{ from: number; to: number; series: number | null; afterTime: number; afterSeries: number; limit: number }], [number, number, number]>(
        `SELECT time_ms, series_id, value FROM telemetry_raw
         WHERE time_ms >= @from AND time_ms < @to AND (time_ms, series_id) > (@afterTime, @afterSeries)
         AND (@series IS NULL OR series_id = @series) ORDER BY time_ms, series_id LIMIT @limit`,
      )
      .raw(),
    oneMinuteRange: tierRange('telemetry_1m'),
    quarterRange: tierRange('telemetry_15m'),
    rollupState: db.prepare<[], RollupState>('SELECT tier, rolled_before_ms, pruned_before_ms FROM rollup_state'),
    setRolled: db.prepare('UPDATE rollup_state SET rolled_before_ms = ? WHERE tier = ?'),
    setPruned: db.prepare('UPDATE rollup_state SET pruned_before_ms = ? WHERE tier = ?'),
    // A bucket is recomputed whole from its source rows, so rolling it again gives the same row.
    rollMinute: db.prepare(
      `INSERT INTO telemetry_1m (series_id, time_ms, avg, min, max, count)
       SELECT series_id, (time_ms / ${MINUTE_MS}) * ${MINUTE_MS} AS bucket, avg(value), min(value), max(value), count(*)
       FROM telemetry_raw WHERE time_ms >= ? AND time_ms < ? GROUP BY series_id, bucket
       ON CONFLICT (series_id, time_ms) DO UPDATE SET avg = excluded.avg, min = excluded.min, max = excluded.max, count = excluded.count`,
    ),
    rollQuarter: db.prepare(
      `INSERT INTO telemetry_15m (series_id, time_ms, avg, min, max, count)
       SELECT series_id, (time_ms / ${QUARTER_MS}) * ${QUARTER_MS} AS bucket, sum(avg * count) / sum(count), min(min), max(max), sum(count)
       FROM telemetry_1m WHERE series_id = ? AND time_ms >= ? AND time_ms < ? GROUP BY bucket
       ON CONFLICT (series_id, time_ms) DO UPDATE SET avg = excluded.avg, min = excluded.min, max = excluded.max, count = excluded.count`,
    ),
    pruneRaw: db.prepare('DELETE FROM telemetry_raw WHERE time_ms < ?'),
    pruneMinute: db.prepare('DELETE FROM telemetry_1m WHERE series_id = ? AND time_ms < ?'),
    pruneQuarter: db.prepare('DELETE FROM telemetry_15m WHERE series_id = ? AND time_ms < ?'),
    insertWrite: db.prepare(
      `INSERT INTO writes (time_ms, device, point, requested, written, read_back, verified, clamped, reason)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    writes: db.prepare<[Page], WriteRow>(
      `SELECT * FROM writes WHERE time_ms >= @from AND time_ms < @to AND (@device IS NULL OR device = @device) AND id > @after
       ORDER BY id LIMIT @limit`,
    ),
    insertPlan: db.prepare('INSERT INTO plans (version, created_at_ms, document) VALUES (?, ?, ?)'),
    latestPlan: db.prepare<[], { document: string }>('SELECT document FROM plans ORDER BY created_at_ms DESC, id DESC LIMIT 1'),
    plans: db.prepare<[Page], { id: number; version: number; created_at_ms: number; document: string }>(
      'SELECT * FROM plans WHERE created_at_ms >= @from AND created_at_ms < @to AND id > @after ORDER BY id LIMIT @limit',
    ),
    insertForecast: db.prepare(
      'INSERT INTO forecasts (created_at_ms, kind, model, start_ms, slot_ms, end_ms, values_w) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    forecasts: db.prepare<[ForecastKind, number, number], ForecastRow>(
      'SELECT * FROM forecasts WHERE kind = ? AND end_ms > ? AND start_ms < ? ORDER BY created_at_ms, id',
    ),
    forecastsPage: db.prepare<[Page], ForecastRow>(
      'SELECT * FROM forecasts WHERE end_ms > @from AND start_ms < @to AND id > @after ORDER BY id LIMIT @limit',
    ),
    alarm: db.prepare<[number], AlarmRow>('SELECT * FROM alarms WHERE id = ?'),
    openAlarm: db.prepare<[string], AlarmRow>(`SELECT * FROM alarms WHERE key = ? AND state <> 'normal'`),
    insertAlarm: db.prepare(
      `INSERT INTO alarms (key, device, severity, message, state, condition_active, raised_at_ms, changed_at_ms)
       VALUES (?, ?, ?, ?, 'unacknowledged', 1, ?, ?)`,
    ),
    updateAlarm: db.prepare<[AlarmRow]>(
      `UPDATE alarms SET state = @state, condition_active = @condition_active, acknowledged_at_ms = @acknowledged_at_ms,
       acknowledged_by = @acknowledged_by, cleared_at_ms = @cleared_at_ms, shelved_at_ms = @shelved_at_ms, shelved_by = @shelved_by,
       shelved_until_ms = @shelved_until_ms, shelve_reason = @shelve_reason, changed_at_ms = @changed_at_ms WHERE id = @id`,
    ),
    shelvedDue: db.prepare<[number], AlarmRow>(`SELECT * FROM alarms WHERE state = 'shelved' AND shelved_until_ms <= ? ORDER BY id`),
    insertEvent: db.prepare<[{ alarmId: number; action: AlarmAction; state: AlarmState; timeMs: number; by: string | null; reason: string | null; untilMs: number | null }]>(
      'INSERT INTO alarm_events (alarm_id, action, state, time_ms, by, reason, until_ms) VALUES (@alarmId, @action, @state, @timeMs, @by, @reason, @untilMs)',
    ),
    // sinceMs: alarms with any transition at or after it.
    alarms: db.prepare<[{ state: AlarmFilterState | null; since: number | null }], AlarmRow>(
      `SELECT * FROM alarms WHERE (@state IS NULL OR state = @state OR (@state = 'active' AND state IN ('unacknowledged', 'acknowledged'))
         OR (@state = 'open' AND state <> 'normal'))
       AND (@since IS NULL OR changed_at_ms >= @since)
       ORDER BY id`,
    ),
    alarmsRaised: db.prepare<[Page], AlarmRow>(
      'SELECT * FROM alarms WHERE raised_at_ms >= @from AND raised_at_ms < @to AND id > @after ORDER BY id LIMIT @limit',
    ),
    events: db.prepare<[{ since: number; alarmId: number | null }], AlarmEvent>(
      `SELECT alarm_id AS alarmId, action, state, time_ms AS timeMs, by, reason, until_ms AS untilMs FROM alarm_events
       WHERE time_ms >= @since AND (@alarmId IS NULL OR alarm_id = @alarmId) ORDER BY id`,
    ),
  }
}

function openDatabase(path: string, now: () => number): Database.Database {
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

function checkRetention(retention: StoreRetention) {
  const keep = {
    rawMs: retention.rawMs ?? 2 * DAY_MS,
    oneMinuteMs: retention.oneMinuteMs ?? 60 * DAY_MS,
    fifteenMinuteMs: retention.fifteenMinuteMs === undefined ? null : retention.fifteenMinuteMs,
  }
  for (const [field, value] of Object.entries(keep)) {
    if (value !== null && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new StoreInputError({ method: 'createStore', field: `retention.${field}`, expected: 'a positive integer of milliseconds', got: value })
    }
  }
  // Each tier is rolled from the one below, so it must outlive it.
  if (keep.oneMinuteMs < keep.rawMs) {
    throw new StoreInputError({ method: 'createStore', field: 'retention.oneMinuteMs', expected: `at least retention.rawMs (${keep.rawMs})`, got: keep.oneMinuteMs })
  }
  if (keep.fifteenMinuteMs !== null && keep.fifteenMinuteMs < keep.oneMinuteMs) {
    throw new StoreInputError({
      method: 'createStore',
      field: 'retention.fifteenMinuteMs',
      expected: `at least retention.oneMinuteMs (${keep.oneMinuteMs}) or null`,
      got: keep.fifteenMinuteMs,
    })
  }
  return keep
}

const seriesKey = (device: string, point: string) => `${device}\u0000${point}`

function checkTimeMs(method: string, field: string, value: unknown): asserts value is number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw new StoreInputError({ method, field, expected: 'a time in integer milliseconds since 1970', got: value })
  }
}

function checkFinite(method: string, field: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new StoreInputError({ method, field, expected: 'a finite number', got: value })
}

function checkText(method: string, field: string, value: unknown): asserts value is string {
  if (typeof value !== 'string' || value === '') throw new StoreInputError({ method, field, expected: 'a non-empty string', got: value })
}

function checkBoolean(method: string, field: string, value: unknown): asserts value is boolean {
  if (typeof value !== 'boolean') throw new StoreInputError({ method, field, expected: 'true or false', got: value })
}

function checkKind(method: string, value: unknown): asserts value is ForecastKind {
  if (value !== 'load' && value !== 'pv') throw new StoreInputError({ method, field: 'kind', expected: "'load' or 'pv'", got: value })
}

function checkTier(method: string, value: unknown): TelemetryTier {
  if (value === undefined) return 'raw'
  if (!TIERS.includes(value as TelemetryTier)) throw new StoreInputError({ method, field: 'tier', expected: `one of ${TIERS.join(', ')}`, got: value })
  return value as TelemetryTier
}

function checkQuery(method: string, query: { fromMs: number; toMs: number }): void {
  if (typeof query !== 'object' || query === null) throw new StoreInputError({ method, field: 'q', expected: 'a query object', got: query })
  checkFinite(method, 'fromMs', query.fromMs)
  checkFinite(method, 'toMs', query.toMs)
  if (query.fromMs > query.toMs) {
    throw new StoreInputError({ method, field: 'fromMs', expected: `a time at or before toMs (${iso(query.toMs)})`, got: query.fromMs })
  }
}

function findNonFinite(value: unknown, path: string): { path: string; value: number } | null {
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, value }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNonFinite(value[i], `${path}[${i}]`)
      if (found) return found
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      const found = findNonFinite(child, `${path}.${key}`)
      if (found) return found
    }
  }
  return null
}

function toAlarm(r: AlarmRow): Alarm {
  return {
    id: r.id,
    key: r.key,
    device: r.device,
    severity: r.severity,
    message: r.message,
    state: r.state,
    conditionActive: r.condition_active === 1,
    raisedAtMs: r.raised_at_ms,
    acknowledgedAtMs: r.acknowledged_at_ms,
    acknowledgedBy: r.acknowledged_by,
    clearedAtMs: r.cleared_at_ms,
    shelvedAtMs: r.shelved_at_ms,
    shelvedBy: r.shelved_by,
    shelvedUntilMs: r.shelved_until_ms,
    shelveReason: r.shelve_reason,
    changedAtMs: r.changed_at_ms,
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

function toForecast(r: ForecastRow): ForecastRecord & { id: number } {
  return {
    id: r.id,
    createdAtMs: r.created_at_ms,
    kind: r.kind,
    model: r.model,
    startMs: r.start_ms,
    slotMs: r.slot_ms,
    valuesW: JSON.parse(r.values_w) as number[],
  }
}
