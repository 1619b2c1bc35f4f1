import type Database from 'better-sqlite3'
import { commitDurably } from './commitDurably.ts'
import { AlarmNotOpenError, StoreInputError } from './errors.ts'
import { checkFinite, checkText, checkTimeMs, iso, type CsvPage, type CsvRow, writeCsvRows } from './storeChecks.ts'
import type { Alarm, AlarmAction, AlarmEvent, AlarmFilterState, AlarmSeverity } from './storeTypes.ts'
import { ALARM_STATES, transitionAlarm, type AlarmInput, type AlarmState } from './transitionAlarm.ts'

const SEVERITIES: readonly AlarmSeverity[] = ['info', 'warning', 'critical']
const ALARM_FILTERS: readonly AlarmFilterState[] = [...ALARM_STATES, 'active', 'open']

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

/**
 * Alarms through the ISA-18.2 state machine (transitionAlarm): raised, acknowledged,
 * cleared, shelved with who, why and until when, and every transition as an event. Each
 * transition commits durably (commitDurably): it is an operator-facing record.
 */
export function createAlarmStore(db: Database.Database) {
  type Page = { from: number; to: number; after: number; limit: number; device: string | null }
  const q = {
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
  const durably = <T>(work: () => T): T => commitDurably(db, work)

  // Applies one input through the state machine and records the transition; an input the
  // state does not allow throws and changes nothing.
  // An alarm's transitions never go back in time: the control loop stamps a clear with its
  // cycle's start, and an operator may have acknowledged or shelved the alarm during that
  // cycle (at 60x a cycle spans simulated seconds); such a transition is recorded at the
  // alarm's last change instead, so its history reads in the order it happened.
  function applyAlarm(method: string, row: AlarmRow, input: AlarmInput, givenMs: number, who: { by: string | null; reason?: string }): Alarm {
    const timeMs = Math.max(givenMs, row.changed_at_ms)
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

  return {
    raiseAlarm,
    acknowledgeAlarm,
    clearAlarm,
    shelveAlarm,
    unshelveAlarm,
    expireShelvedAlarms,
    listAlarms,
    alarmEvents,
    /** Alarms raised in [from, to), with their state and shelve. */
    writeCsvPage: (params: CsvPage, row: CsvRow) =>
      writeCsvRows(
        q.alarmsRaised.all(params),
        (a) => [a.id, a.key, a.device, a.severity, a.message, a.state, iso(a.raised_at_ms), iso(a.acknowledged_at_ms), a.acknowledged_by, iso(a.cleared_at_ms), iso(a.shelved_until_ms), a.shelved_by, a.shelve_reason],
        row,
      ),
  }
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
