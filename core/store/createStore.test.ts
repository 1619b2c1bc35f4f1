import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import { createStore, type Store, type TelemetrySample } from './createStore.ts'
import { AlarmNotOpenError, StoreInputError, StoreOpenError } from './errors.ts'
import { STORE_MIGRATIONS, STORE_SCHEMA_VERSION } from './migrateStore.ts'

const T0 = Date.UTC(2026, 10, 24) // a 15-minute boundary
const S = 1_000
const MIN = 60_000
const open: Store[] = []

function tempPath(name = 'store.db') {
  return join(mkdtempSync(join(tmpdir(), 'gm-store-')), name)
}
function newStore(options: Partial<Parameters<typeof createStore>[0]> = {}) {
  const store = createStore({ path: tempPath(), now: () => T0, ...options })
  open.push(store)
  return store
}
afterEach(() => {
  for (const store of open.splice(0)) {
    try {
      store.close()
    } catch (error) {
      if (!/not open/.test(String(error))) throw error
    }
  }
})

/** Collects what a store writes to a stream. */
function sink() {
  let text = ''
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString()
      done()
    },
  })
  return { stream, text: () => text }
}

/** A strict RFC 4180 reader for checking exports round-trip. */
function parseCsv(text: string): string[][] {
  const records: string[][] = []
  let field = ''
  let record: string[] = []
  let i = 0
  while (i < text.length) {
    if (text[i] === '"') {
      i++
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"'
          i += 2
        } else if (text[i] === '"') {
          i++
          break
        } else {
          field += text[i++]
        }
      }
    } else if (text[i] === ',') {
      record.push(field)
      field = ''
      i++
    } else if (text.startsWith('\r\n', i)) {
      record.push(field)
      records.push(record)
      field = ''
      record = []
      i += 2
    } else {
      field += text[i++]
    }
  }
  expect(field).toBe('')
  expect(record).toEqual([])
  return records
}

const sample = (timeMs: number, value: number, device = 'battery-1', point = 'powerW'): TelemetrySample => ({ timeMs, device, point, value })

describe('telemetry', () => {
  it('appends in one batch and queries by device, point and [from, to), ordered by device, point, time', () => {
    const store = newStore()
    store.appendTelemetry([sample(T0 + 2 * S, 3), sample(T0, 1), sample(T0 + S, 2), sample(T0, 50, 'meter', 'powerW'), sample(T0, 0.5, 'battery-1', 'socPct')])
    expect(store.queryTelemetry({ device: 'battery-1', point: 'powerW', fromMs: T0, toMs: T0 + 2 * S })).toEqual([
      { timeMs: T0, device: 'battery-1', point: 'powerW', value: 1 },
      { timeMs: T0 + S, device: 'battery-1', point: 'powerW', value: 2 },
    ])
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 1 }).map((r) => `${r.device}/${r.point}=${r.value}`)).toEqual([
      'battery-1/powerW=1',
      'battery-1/socPct=0.5',
      'meter/powerW=50',
    ])
    expect(store.queryTelemetry({ point: 'powerW', fromMs: T0, toMs: T0 + 1 })).toHaveLength(2)
    expect(store.queryTelemetry({ device: 'nobody', fromMs: 0, toMs: T0 * 2 })).toEqual([])
    // the same device, point and millisecond again replaces the value
    store.appendTelemetry([sample(T0, 9)])
    expect(store.queryTelemetry({ device: 'battery-1', point: 'powerW', fromMs: T0, toMs: T0 + 1 })[0]!.value).toBe(9)
    store.appendTelemetry([])
  })

  it('two stores on one file (a second process, an API handler) add series without tripping over each other', () => {
    const path = tempPath()
    const a = createStore({ path })
    const b = createStore({ path })
    open.push(a, b)
    a.appendTelemetry([sample(T0, 1)])
    b.appendTelemetry([sample(T0 + S, 2), sample(T0 + S, 3, 'meter')])
    a.appendTelemetry([sample(T0 + 2 * S, 4, 'meter')])
    expect(a.queryTelemetry({ fromMs: 0, toMs: T0 * 2 }).map((r) => `${r.device}=${r.value}`)).toEqual(['battery-1=1', 'battery-1=2', 'meter=3', 'meter=4'])
  })

  it('downsampling matches a hand computation: 1 min avg/min/max/count, 15 min weighted by count', async () => {
    const store = newStore()
    store.appendTelemetry([
      // minute 0: 10, 20, 60 -> avg 30, min 10, max 60, count 3
      sample(T0, 10),
      sample(T0 + 20 * S, 20),
      sample(T0 + 40 * S, 60),
      // minute 1: -5 -> avg -5, count 1
      sample(T0 + MIN + 30 * S, -5),
      // minute 15 (the next quarter): 7
      sample(T0 + 15 * MIN, 7),
    ])
    // half-way through minute 1: only minute 0 is closed
    store.downsample(T0 + MIN + 30 * S)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '1m' })).toEqual([
      { timeMs: T0, device: 'battery-1', point: 'powerW', value: 30, min: 10, max: 60 },
    ])
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '15m' })).toEqual([])

    store.downsample(T0 + 16 * MIN)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '1m' }).map((r) => [r.timeMs - T0, r.value, r.min, r.max])).toEqual([
      [0, 30, 10, 60],
      [MIN, -5, -5, -5],
      [15 * MIN, 7, 7, 7],
    ])
    // (10 + 20 + 60 - 5) / 4 = 21.25, not the mean of the minute averages (12.5); quarter 2 is still open
    const quarter = store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '15m' })
    expect(quarter).toEqual([{ timeMs: T0, device: 'battery-1', point: 'powerW', value: 21.25, min: -5, max: 60 }])

    // idempotent: the same and an earlier time change nothing
    store.downsample(T0 + 16 * MIN)
    store.downsample(T0 + 5 * MIN)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '15m' })).toEqual(quarter)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN, tier: '1m' })).toHaveLength(3)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + 60 * MIN })).toHaveLength(5)

    const out = sink()
    expect(await store.exportCsv('telemetry', { fromMs: T0, toMs: T0 + 60 * MIN, tier: '15m' }, out.stream)).toBe(1)
    expect(parseCsv(out.text())).toEqual([
      ['time', 'device', 'point', 'avg', 'min', 'max', 'count'],
      ['2026-11-24T00:00:00.000Z', 'battery-1', 'powerW', '21.25', '-5', '60', '4'],
    ])
  })

  it('a late sample in a bucket already rolled up is rolled again, and its quarter too', () => {
    const store = newStore()
    store.appendTelemetry([sample(T0, 10), sample(T0 + 20 * S, 20), sample(T0 + 40 * S, 60), sample(T0 + MIN + 30 * S, -5)])
    store.downsample(T0 + 16 * MIN)
    store.appendTelemetry([sample(T0 + 50 * S, 90)])
    store.downsample(T0 + 16 * MIN)
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + MIN, tier: '1m' })[0]).toMatchObject({ value: 45, min: 10, max: 90 })
    // (10 + 20 + 60 + 90 - 5) / 5 = 35
    expect(store.queryTelemetry({ fromMs: T0, toMs: T0 + MIN, tier: '15m' })[0]).toMatchObject({ value: 35, min: -5, max: 90 })
  })

  it('prunes each tier beyond its retention, only after it was rolled up, and refuses samples older than the pruned raw', () => {
    const store = newStore({ retention: { rawMs: 5 * MIN, oneMinuteMs: 30 * MIN, fifteenMinuteMs: 60 * MIN } })
    const samples: TelemetrySample[] = []
    for (let t = 0; t < 2 * 3_600_000; t += 10 * S) samples.push(sample(T0 + t, t / S))
    store.appendTelemetry(samples)
    const nowMs = T0 + 2 * 3_600_000 + 7 * S
    store.downsample(nowMs)
    const raw = store.queryTelemetry({ fromMs: 0, toMs: nowMs })
    const minute = store.queryTelemetry({ fromMs: 0, toMs: nowMs, tier: '1m' })
    const quarter = store.queryTelemetry({ fromMs: 0, toMs: nowMs, tier: '15m' })
    expect(raw[0]!.timeMs).toBe(T0 + 115 * MIN) // floor to the minute of now - 5 min
    expect(raw).toHaveLength(5 * 6)
    expect(minute[0]!.timeMs).toBe(T0 + 90 * MIN) // floor to the quarter of now - 30 min
    expect(minute).toHaveLength(30)
    expect(quarter.map((r) => (r.timeMs - T0) / MIN)).toEqual([60, 75, 90, 105])
    // a quarter is the same whether computed before or after its minutes were pruned
    expect(quarter[0]).toMatchObject({ value: (3600 + 4490) / 2, min: 3600, max: 4490 })

    const before = store.queryTelemetry({ fromMs: 0, toMs: nowMs }).length
    expect(() => store.appendTelemetry([sample(T0 + 119 * MIN, 1), sample(T0 + 100 * MIN, 1)])).toThrow(
      'appendTelemetry: samples[1].timeMs: expected a time at or after 2026-11-24T01:55:00.000Z (older raw data was already rolled up and pruned), got ' +
        (T0 + 100 * MIN),
    )
    expect(store.queryTelemetry({ fromMs: 0, toMs: nowMs })).toHaveLength(before)
  })

  it('bad samples are refused whole, naming the field and value, and nothing stored is lost', () => {
    const store = newStore()
    store.appendTelemetry([sample(T0, 1)])
    const bad: [TelemetrySample[], string][] = [
      [[sample(T0 + S, 2), sample(T0 + 2 * S, NaN)], 'appendTelemetry: samples[1].value: expected a finite number, got NaN'],
      [[sample(T0 + S, Infinity)], 'appendTelemetry: samples[0].value: expected a finite number, got Infinity'],
      [[sample(T0 + 0.5, 2)], `appendTelemetry: samples[0].timeMs: expected a time in integer milliseconds since 1970, got ${T0 + 0.5}`],
      [[sample(T0 + S, 2, '')], "appendTelemetry: samples[0].device: expected a non-empty string, got ''"],
      [[{ timeMs: T0, device: 'x', value: 1 } as unknown as TelemetrySample], 'appendTelemetry: samples[0].point: expected a non-empty string, got undefined'],
    ]
    for (const [samples, message] of bad) {
      expect(() => store.appendTelemetry(samples)).toThrow(StoreInputError)
      expect(() => store.appendTelemetry(samples)).toThrow(message)
    }
    expect(() => store.queryTelemetry({ fromMs: T0 + 1, toMs: T0 })).toThrow(`queryTelemetry: fromMs: expected a time at or before toMs (2026-11-24T00:00:00.000Z), got ${T0 + 1}`)
    expect(() => store.queryTelemetry({ fromMs: NaN, toMs: T0 })).toThrow('queryTelemetry: fromMs: expected a finite number, got NaN')
    expect(() => store.queryTelemetry({ fromMs: 0, toMs: T0, tier: '5m' as '1m' })).toThrow("queryTelemetry: tier: expected one of raw, 1m, 15m, got '5m'")
    expect(() => store.downsample(NaN)).toThrow('downsample: nowMs: expected a time in integer milliseconds since 1970, got NaN')
    expect(store.queryTelemetry({ fromMs: 0, toMs: T0 * 2 })).toEqual([{ timeMs: T0, device: 'battery-1', point: 'powerW', value: 1 }])
  })
})

describe('writes, plans, forecasts', () => {
  const write = {
    timeMs: T0,
    device: 'battery-1',
    point: 'powerW',
    requested: 6000,
    written: 5000,
    readBack: 5000,
    verified: true,
    clamped: true,
    reason: 'plan slot 3',
  }

  it('records writes and lists them by [from, to) and device', () => {
    const store = newStore()
    store.recordWrite(write)
    store.recordWrite({ ...write, timeMs: T0 + S, device: 'pv-1', point: 'limitPct', requested: 50, written: 50, readBack: null, verified: false, clamped: false })
    store.recordWrite({ ...write, timeMs: T0 + 2 * S })
    expect(store.listWrites({ fromMs: T0, toMs: T0 + 2 * S })).toEqual([
      write,
      { ...write, timeMs: T0 + S, device: 'pv-1', point: 'limitPct', requested: 50, written: 50, readBack: null, verified: false, clamped: false },
    ])
    expect(store.listWrites({ fromMs: T0, toMs: T0 + 3 * S, device: 'battery-1' }).map((w) => w.timeMs)).toEqual([T0, T0 + 2 * S])
    expect(() => store.recordWrite({ ...write, requested: Infinity })).toThrow('recordWrite: requested: expected a finite number, got Infinity')
    expect(() => store.recordWrite({ ...write, readBack: NaN })).toThrow('recordWrite: readBack: expected a finite number, got NaN')
    expect(() => store.listWrites({ fromMs: T0 + 5, toMs: T0 })).toThrow(/listWrites: fromMs: expected a time at or before toMs/)
    expect(store.listWrites({ fromMs: 0, toMs: T0 * 2 })).toHaveLength(3)
  })

  it('saves plans as JSON and returns the newest by createdAtMs; refuses values JSON cannot hold', () => {
    const store = newStore()
    expect(store.latestPlan()).toBeNull()
    const plan = { version: 1, createdAtMs: T0 + 2 * MIN, slots: [{ startMs: T0, socPct: 50.5, flexibleLoads: [{ id: 'ev', on: true }] }], status: 'optimal' }
    const first = store.savePlan(plan)
    const second = store.savePlan({ ...plan, createdAtMs: T0 + MIN })
    expect(second).toBeGreaterThan(first)
    expect(store.latestPlan()).toEqual(plan)
    expect(() => store.savePlan({ ...plan, createdAtMs: T0 + 3 * MIN, slots: [{ startMs: T0 }, { startMs: T0, socPct: NaN }] })).toThrow(
      'savePlan: plan.slots[1].socPct: expected a finite number (JSON cannot hold it), got NaN',
    )
    expect(() => store.savePlan({ ...plan, version: 1.5 })).toThrow('savePlan: plan.version: expected an integer, got 1.5')
    expect(store.latestPlan()).toEqual(plan)
  })

  it('saves forecasts and finds those overlapping a window, oldest first', () => {
    const store = newStore()
    const HOUR = 3_600_000
    const yesterday = { createdAtMs: T0 - 12 * HOUR, kind: 'load' as const, model: 'tcn-v1', startMs: T0, slotMs: 15 * MIN, valuesW: Array.from({ length: 96 }, (_, i) => 300 + i) }
    const today = { ...yesterday, createdAtMs: T0 + 12 * HOUR, startMs: T0 + 24 * HOUR }
    const pv = { ...yesterday, kind: 'pv' as const, model: 'clear-sky' }
    const ids = [store.saveForecast(today), store.saveForecast(yesterday), store.saveForecast(pv)]
    expect(store.forecastsFor({ kind: 'load', startMs: T0, endMs: T0 + 24 * HOUR })).toEqual([{ ...yesterday, id: ids[1] }])
    expect(store.forecastsFor({ kind: 'load', startMs: T0 + 23 * HOUR, endMs: T0 + 25 * HOUR }).map((f) => f.id)).toEqual([ids[1], ids[0]])
    expect(store.forecastsFor({ kind: 'pv', startMs: T0 + 24 * HOUR, endMs: T0 + 48 * HOUR })).toEqual([])
    expect(() => store.saveForecast({ ...yesterday, valuesW: [1, 2, Infinity] })).toThrow('saveForecast: valuesW[2]: expected a finite number, got Infinity')
    expect(() => store.saveForecast({ ...yesterday, kind: 'wind' as 'pv' })).toThrow("saveForecast: kind: expected 'load' or 'pv', got 'wind'")
    expect(() => store.forecastsFor({ kind: 'load', startMs: T0 + 1, endMs: T0 })).toThrow(/forecastsFor: startMs: expected a time at or before endMs/)
    expect(store.forecastsFor({ kind: 'load', startMs: 0, endMs: T0 * 2 })).toHaveLength(2)
  })
})

describe('alarms', () => {
  const raise = { key: 'battery-1/stale', device: 'battery-1', severity: 'warning' as const, message: 'no reading for 5 s', timeMs: T0 }

  it('raise is idempotent while open; ack and clear are recorded with every transition', () => {
    const store = newStore()
    const alarm = store.raiseAlarm(raise)
    expect(alarm).toEqual({
      id: alarm.id,
      key: raise.key,
      device: 'battery-1',
      severity: 'warning',
      message: raise.message,
      state: 'unacknowledged',
      conditionActive: true,
      raisedAtMs: T0,
      acknowledgedAtMs: null,
      acknowledgedBy: null,
      clearedAtMs: null,
      shelvedAtMs: null,
      shelvedBy: null,
      shelvedUntilMs: null,
      shelveReason: null,
      changedAtMs: T0,
    })
    expect(store.raiseAlarm({ ...raise, timeMs: T0 + S, message: 'again' })).toEqual(alarm)
    const acked = store.acknowledgeAlarm(alarm.id, 'operator:ann', T0 + 2 * S)
    expect(acked).toMatchObject({ state: 'acknowledged', acknowledgedAtMs: T0 + 2 * S, acknowledgedBy: 'operator:ann' })
    expect(store.acknowledgeAlarm(alarm.id, 'operator:bob', T0 + 3 * S)).toEqual(acked)
    expect(store.raiseAlarm({ ...raise, timeMs: T0 + 4 * S })).toEqual(acked)
    const cleared = store.clearAlarm(raise.key, T0 + 5 * S)
    expect(cleared).toMatchObject({ id: alarm.id, state: 'normal', conditionActive: false, clearedAtMs: T0 + 5 * S, acknowledgedBy: 'operator:ann' })
    expect(store.clearAlarm(raise.key, T0 + 6 * S)).toBeNull()
    const again = store.raiseAlarm({ ...raise, timeMs: T0 + 7 * S, severity: 'critical' })
    expect(again.id).not.toBe(alarm.id)
    expect(store.raiseAlarm({ key: 'site/no-plan', device: null, severity: 'info', message: 'self-consumption', timeMs: T0 + 8 * S }).device).toBeNull()

    const event = (alarmId: number, action: string, state: string, timeMs: number, by: string | null = null) => ({ alarmId, action, state, timeMs, by, reason: null, untilMs: null })
    expect(store.alarmEvents(0)).toEqual([
      event(alarm.id, 'raise', 'unacknowledged', T0),
      event(alarm.id, 'acknowledge', 'acknowledged', T0 + 2 * S, 'operator:ann'),
      event(alarm.id, 'clear', 'normal', T0 + 5 * S),
      event(again.id, 'raise', 'unacknowledged', T0 + 7 * S),
      event(again.id + 1, 'raise', 'unacknowledged', T0 + 8 * S),
    ])
    expect(store.alarmEvents(T0 + 5 * S)).toHaveLength(3)
    expect(store.alarmEvents(0, alarm.id)).toHaveLength(3)
    expect(store.listAlarms().map((a) => a.state)).toEqual(['normal', 'unacknowledged', 'unacknowledged'])
    expect(store.listAlarms({ state: 'normal' }).map((a) => a.id)).toEqual([alarm.id])
    // sinceMs: any transition at or after it
    expect(store.listAlarms({ sinceMs: T0 + 5 * S }).map((a) => a.id)).toEqual([alarm.id, again.id, again.id + 1])
    expect(store.listAlarms({ sinceMs: T0 + 6 * S, state: 'active' }).map((a) => a.id)).toEqual([again.id, again.id + 1])
  })

  it('an alarm cleared before anyone acknowledged it returns to normal unacknowledged, and comes back if raised again', () => {
    const store = newStore()
    const alarm = store.raiseAlarm(raise)
    expect(store.clearAlarm(raise.key, T0 + S)).toMatchObject({ state: 'returned-unacknowledged', conditionActive: false, clearedAtMs: T0 + S })
    expect(store.clearAlarm(raise.key, T0 + 2 * S)).toBeNull()
    // the same alarm, annunciated again (not a new one)
    expect(store.raiseAlarm({ ...raise, timeMs: T0 + 3 * S })).toMatchObject({ id: alarm.id, state: 'unacknowledged', conditionActive: true, clearedAtMs: null })
    store.clearAlarm(raise.key, T0 + 4 * S)
    expect(store.acknowledgeAlarm(alarm.id, 'ann', T0 + 5 * S)).toMatchObject({ state: 'normal', acknowledgedBy: 'ann', acknowledgedAtMs: T0 + 5 * S })
    expect(store.listAlarms({ state: 'open' })).toEqual([])
    expect(store.alarmEvents(0, alarm.id).map((e) => `${e.action}:${e.state}`)).toEqual([
      'raise:unacknowledged', 'clear:returned-unacknowledged', 'raise:unacknowledged', 'clear:returned-unacknowledged', 'acknowledge:normal',
    ])
  })

  it('shelves with who, when, why and until when; follows the condition while shelved; unshelves by hand or at expiry', () => {
    const store = newStore()
    const a = store.raiseAlarm(raise)
    const shelved = store.shelveAlarm(a.id, { by: 'ann', reason: 'battery service visit', untilMs: T0 + 60 * S, timeMs: T0 + S })
    expect(shelved).toMatchObject({ state: 'shelved', conditionActive: true, shelvedAtMs: T0 + S, shelvedBy: 'ann', shelvedUntilMs: T0 + 60 * S, shelveReason: 'battery service visit' })
    expect(store.listAlarms({ state: 'active' })).toEqual([])
    expect(store.listAlarms({ state: 'open' }).map((x) => x.id)).toEqual([a.id])
    // raising the same key while shelved is the same, still shelved alarm
    expect(store.raiseAlarm({ ...raise, timeMs: T0 + 2 * S })).toEqual(shelved)
    expect(store.clearAlarm(raise.key, T0 + 3 * S)).toMatchObject({ state: 'shelved', conditionActive: false, clearedAtMs: T0 + 3 * S })
    expect(store.raiseAlarm({ ...raise, timeMs: T0 + 4 * S })).toMatchObject({ id: a.id, state: 'shelved', conditionActive: true })
    expect(store.expireShelvedAlarms(T0 + 59 * S)).toEqual([])
    const back = store.expireShelvedAlarms(T0 + 60 * S)
    expect(back).toMatchObject([{ id: a.id, state: 'unacknowledged', conditionActive: true, shelvedUntilMs: null, shelvedBy: null }])
    expect(store.expireShelvedAlarms(T0 + 61 * S)).toEqual([])
    // by hand, after the condition went away: normal
    store.shelveAlarm(a.id, { by: 'bob', reason: 'known', untilMs: T0 + 3_600 * S, timeMs: T0 + 62 * S })
    store.clearAlarm(raise.key, T0 + 63 * S)
    expect(store.unshelveAlarm(a.id, 'cid', T0 + 64 * S)).toMatchObject({ state: 'normal', conditionActive: false })
    const events = store.alarmEvents(0, a.id)
    expect(events.map((e) => `${e.action}:${e.state}`)).toEqual([
      'raise:unacknowledged', 'shelve:shelved', 'clear:shelved', 'raise:shelved', 'expire:unacknowledged', 'shelve:shelved', 'clear:shelved', 'unshelve:normal',
    ])
    expect(events[1]).toEqual({ alarmId: a.id, action: 'shelve', state: 'shelved', timeMs: T0 + S, by: 'ann', reason: 'battery service visit', untilMs: T0 + 60 * S })
    expect(events[4]).toMatchObject({ by: null, timeMs: T0 + 60 * S })
    expect(events[7]).toMatchObject({ by: 'cid', timeMs: T0 + 64 * S })
  })

  it('shelves survive a reopen and still expire', () => {
    const path = tempPath()
    const first = createStore({ path, now: () => T0 })
    const a = first.raiseAlarm(raise)
    first.shelveAlarm(a.id, { by: 'ann', reason: 'r', untilMs: T0 + 10 * S, timeMs: T0 })
    first.close()
    const second = createStore({ path, now: () => T0 })
    open.push(second)
    expect(second.listAlarms()).toMatchObject([{ id: a.id, state: 'shelved', shelvedUntilMs: T0 + 10 * S }])
    expect(second.expireShelvedAlarms(T0 + 10 * S)).toMatchObject([{ id: a.id, state: 'unacknowledged' }])
  })

  it('records a transition stamped before the alarm\'s last change (a cycle\'s clear after an operator\'s acknowledge) at that change, so the history keeps its order', () => {
    const store = newStore()
    const alarm = store.raiseAlarm(raise)
    store.acknowledgeAlarm(alarm.id, 'ann', T0 + 3 * S)
    // the loop's cycle started at T0 + 2 s, before the acknowledge, and clears the condition at its end
    expect(store.clearAlarm(raise.key, T0 + 2 * S)).toMatchObject({ state: 'normal', clearedAtMs: T0 + 3 * S })
    expect(store.alarmEvents(0, alarm.id).map((e) => [e.action, e.timeMs])).toEqual([['raise', T0], ['acknowledge', T0 + 3 * S], ['clear', T0 + 3 * S]])
  })

  it('refuses an alarm command its state does not allow, or bad input, naming the id or field, and changes nothing', () => {
    const store = newStore()
    const alarm = store.raiseAlarm(raise)
    store.acknowledgeAlarm(alarm.id, 'op', T0 + S)
    store.clearAlarm(raise.key, T0 + S)
    const other = store.raiseAlarm({ ...raise, key: 'other', timeMs: T0 + 2 * S })
    const shelved = store.raiseAlarm({ ...raise, key: 'shelved', timeMs: T0 + 2 * S })
    store.shelveAlarm(shelved.id, { by: 'op', reason: 'r', untilMs: T0 + 100 * S, timeMs: T0 + 2 * S })
    const alarmsBefore = store.listAlarms()
    const eventsBefore = store.alarmEvents(0)
    expect(() => store.acknowledgeAlarm(999, 'op', T0)).toThrow(AlarmNotOpenError)
    const cases: [() => unknown, string][] = [
      [() => store.acknowledgeAlarm(999, 'op', T0), 'acknowledgeAlarm: alarm 999 does not exist; expected the id of an unacknowledged or returned-unacknowledged alarm'],
      [() => store.acknowledgeAlarm(alarm.id, 'op', T0 + 2 * S), `acknowledgeAlarm: alarm ${alarm.id} is closed (normal); expected`],
      [() => store.acknowledgeAlarm(shelved.id, 'op', T0 + 3 * S), `acknowledgeAlarm: alarm ${shelved.id} is shelved; unshelve it first`],
      [() => store.acknowledgeAlarm(alarm.id, '', T0 + 2 * S), "acknowledgeAlarm: by: expected a non-empty string, got ''"],
      [() => store.shelveAlarm(alarm.id, { by: 'op', reason: 'r', untilMs: T0 + 9 * S, timeMs: T0 + 3 * S }), `shelveAlarm: alarm ${alarm.id} is closed (normal); there is nothing to shelve; expected the id of an alarm that is not normal`],
      [() => store.shelveAlarm(other.id, { by: 'op', reason: ' ', untilMs: T0 + 9 * S, timeMs: T0 + 3 * S }), "shelveAlarm: reason: expected a non-empty reason, got ' '"],
      [() => store.shelveAlarm(other.id, { by: 'op', reason: 'r', untilMs: T0 + 3 * S, timeMs: T0 + 3 * S }), 'shelveAlarm: untilMs: expected a time after timeMs (2026-11-24T00:00:03.000Z)'],
      [() => store.shelveAlarm(other.id, { by: 'op', reason: 'r', untilMs: Number.NaN, timeMs: T0 + 3 * S }), 'shelveAlarm: untilMs: expected a time in integer milliseconds since 1970, got NaN'],
      [() => store.unshelveAlarm(other.id, 'op', T0 + 3 * S), `unshelveAlarm: alarm ${other.id} is not shelved (it is unacknowledged); expected the id of a shelved alarm`],
      [() => store.raiseAlarm({ ...raise, severity: 'fatal' as 'info' }), "raiseAlarm: severity: expected one of info, warning, critical, got 'fatal'"],
      [() => store.listAlarms({ state: 'cleared' as 'active' }), "listAlarms: state: expected one of unacknowledged, acknowledged, returned-unacknowledged, normal, shelved, active, open, got 'cleared'"],
      [() => store.alarmEvents(0, 1.5), 'alarmEvents: alarmId: expected an alarm id (integer), got 1.5'],
    ]
    for (const [call, text] of cases) expect(call).toThrow(text)
    expect(store.listAlarms()).toEqual(alarmsBefore)
    expect(store.alarmEvents(0)).toEqual(eventsBefore)
  })
})

describe('CSV export', () => {
  it('quotes per RFC 4180, writes ISO UTC times and returns the row count for every table', async () => {
    const store = newStore()
    store.appendTelemetry([sample(T0, 1.5, 'inverter "west", roof', 'powerW'), sample(T0 + S, -2, 'meter', 'line\nbreak')])
    store.recordWrite({ timeMs: T0, device: 'battery-1', point: 'powerW', requested: 1, written: 1, readBack: null, verified: false, clamped: false, reason: 'safety: soc < 10 %,\r\nramp' })
    const alarm = store.raiseAlarm({ key: 'k', device: null, severity: 'critical', message: 'grid "lost"', timeMs: T0 })
    store.acknowledgeAlarm(alarm.id, 'op', T0 + S)
    const plan = { version: 1, createdAtMs: T0, note: 'a, "b"' }
    store.savePlan(plan)
    store.saveForecast({ createdAtMs: T0, kind: 'pv', model: 'm', startMs: T0 - 15 * MIN, slotMs: 15 * MIN, valuesW: [1, 2, 3] })
    const range = { fromMs: T0, toMs: T0 + MIN }

    const exported = async (table: Parameters<Store['exportCsv']>[0]) => {
      const out = sink()
      const count = await store.exportCsv(table, range, out.stream)
      const records = parseCsv(out.text())
      expect(records.length - 1).toBe(count)
      return records
    }
    expect(await exported('telemetry')).toEqual([
      ['time', 'device', 'point', 'value'],
      ['2026-11-24T00:00:00.000Z', 'inverter "west", roof', 'powerW', '1.5'],
      ['2026-11-24T00:00:01.000Z', 'meter', 'line\nbreak', '-2'],
    ])
    expect(await exported('writes')).toEqual([
      ['time', 'device', 'point', 'requested', 'written', 'read_back', 'verified', 'clamped', 'reason'],
      ['2026-11-24T00:00:00.000Z', 'battery-1', 'powerW', '1', '1', '', 'false', 'false', 'safety: soc < 10 %,\r\nramp'],
    ])
    expect(await exported('alarms')).toEqual([
      ['id', 'key', 'device', 'severity', 'message', 'state', 'raised_at', 'acknowledged_at', 'acknowledged_by', 'cleared_at', 'shelved_until', 'shelved_by', 'shelve_reason'],
      [String(alarm.id), 'k', '', 'critical', 'grid "lost"', 'acknowledged', '2026-11-24T00:00:00.000Z', '2026-11-24T00:00:01.000Z', 'op', '', '', '', ''],
    ])
    const plans = await exported('plans')
    expect(plans[1]!.slice(0, 3)).toEqual(['1', '1', '2026-11-24T00:00:00.000Z'])
    expect(JSON.parse(plans[1]![3]!)).toEqual(plan)
    // one row per slot inside the window: the slot before T0 is left out
    expect(await exported('forecasts')).toEqual([
      ['forecast_id', 'created_at', 'kind', 'model', 'slot_start', 'slot_ms', 'value_w'],
      ['1', '2026-11-24T00:00:00.000Z', 'pv', 'm', '2026-11-24T00:00:00.000Z', '900000', '2'],
    ])
  })

  it('refuses an unknown table, an inverted range and a tier outside telemetry before writing anything', async () => {
    const store = newStore()
    store.appendTelemetry([sample(T0, 1)])
    const out = sink()
    await expect(store.exportCsv('users' as 'plans', { fromMs: 0, toMs: T0 }, out.stream)).rejects.toThrow(
      "exportCsv: table: expected one of telemetry, writes, alarms, plans, forecasts, got 'users'",
    )
    await expect(store.exportCsv('telemetry', { fromMs: T0 + 1, toMs: T0 }, out.stream)).rejects.toThrow(/exportCsv: fromMs: expected a time at or before toMs/)
    await expect(store.exportCsv('writes', { fromMs: 0, toMs: T0, tier: '1m' }, out.stream)).rejects.toThrow(
      "exportCsv: tier: expected no tier (only telemetry has tiers), got '1m'",
    )
    expect(out.text()).toBe('')
    expect(store.queryTelemetry({ fromMs: 0, toMs: T0 + 1 })).toHaveLength(1)
  })

  it('a failing output stream ends the export with its error and the store stays usable', async () => {
    const store = newStore()
    store.appendTelemetry(Array.from({ length: 20_000 }, (_, i) => sample(T0 + i * S, i)))
    let writes = 0
    const failing = new Writable({
      write(_chunk, _encoding, done) {
        writes++
        done(writes === 2 ? new Error('ENOSPC: no space left on device') : null)
      },
    })
    await expect(store.exportCsv('telemetry', { fromMs: T0, toMs: T0 + 20_000 * S }, failing)).rejects.toThrow('ENOSPC')
    store.appendTelemetry([sample(T0 - S, 1)])
    expect(store.queryTelemetry({ fromMs: 0, toMs: T0 * 2 })).toHaveLength(20_001)
  })

  it('waits for a slow reader and leaves the connection free for the control loop between pages', async () => {
    const store = newStore()
    const samples: TelemetrySample[] = []
    for (let i = 0; i < 12_000; i++) samples.push(sample(T0 + i * S, i))
    store.appendTelemetry(samples)
    let text = ''
    let appendedDuringExport = 0
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString()
        // the loop keeps writing while the export waits for the reader
        store.appendTelemetry([sample(T0 + 86_400_000 + appendedDuringExport * S, 0, 'meter')])
        appendedDuringExport++
        setImmediate(done)
      },
    })
    const count = await store.exportCsv('telemetry', { fromMs: T0, toMs: T0 + 12_000 * S }, slow)
    expect(count).toBe(12_000)
    expect(text.split('\r\n')).toHaveLength(12_002)
    expect(appendedDuringExport).toBeGreaterThan(1)
  })
})

describe('opening', () => {
  it('migrates an empty file to the current schema in WAL mode, and reopening changes nothing', () => {
    const path = tempPath()
    writeFileSync(path, '')
    const store = createStore({ path, now: () => T0 })
    store.appendTelemetry([sample(T0, 1)])
    store.close()
    const db = new Database(path)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT version, applied_at_ms FROM schema_version').all()).toEqual(STORE_MIGRATIONS.map((m) => ({ version: m.version, applied_at_ms: T0 })))
    db.close()
    const again = createStore({ path, now: () => T0 + 1 })
    expect(again.queryTelemetry({ fromMs: 0, toMs: T0 + 1 })).toHaveLength(1)
    again.close()
    const check = new Database(path, { readonly: true })
    expect(check.prepare('SELECT count(*) FROM schema_version').pluck().get()).toBe(STORE_MIGRATIONS.length)
    check.close()
  })

  function expectLeftAlone(path: string, message: string | RegExp) {
    const bytes = readFileSync(path)
    let error: unknown
    try {
      createStore({ path })
    } catch (caught) {
      error = caught
    }
    expect(error).toBeInstanceOf(StoreOpenError)
    expect((error as Error).message).toMatch(message)
    expect((error as Error).message).toContain(path)
    expect(readFileSync(path).equals(bytes)).toBe(true)
  }

  it('a file that is not a database is named and left byte for byte', () => {
    const path = tempPath('notes.db')
    writeFileSync(path, 'telemetry,notes\n'.repeat(500))
    expectLeftAlone(path, `store ${path}: is not a SQLite database; expected a GridMesh store or a new file. The file was not changed.`)
  })

  it('a store from a newer GridMesh is refused with both versions and not touched', () => {
    const path = tempPath()
    createStore({ path }).close()
    const db = new Database(path)
    db.prepare('INSERT INTO schema_version VALUES (?, 0)').run(STORE_SCHEMA_VERSION + 1)
    db.pragma('wal_checkpoint(TRUNCATE)')
    db.close()
    expectLeftAlone(path, `has schema version ${STORE_SCHEMA_VERSION + 1}, newer than this GridMesh supports (${STORE_SCHEMA_VERSION})`)
  })

  it('a SQLite file of something else, a missing directory and a directory are refused', () => {
    const path = tempPath('other.db')
    const db = new Database(path)
    db.exec('CREATE TABLE customers (name TEXT)')
    db.close()
    expectLeftAlone(path, 'is a SQLite database without a schema_version table (tables: customers)')
    const missing = join(tmpdir(), 'gm-store-missing-dir', 'x', 'store.db')
    expect(() => createStore({ path: missing })).toThrow(`store ${missing}: directory ${join(tmpdir(), 'gm-store-missing-dir', 'x')} does not exist`)
    const directory = tempPath('a-directory')
    mkdirSync(directory)
    expect(() => createStore({ path: directory })).toThrow(`store ${directory}: is a directory`)
    expect(() => createStore({ path: tempPath(), retention: { rawMs: 10 * MIN, oneMinuteMs: MIN } })).toThrow(
      'createStore: retention.oneMinuteMs: expected at least retention.rawMs (600000), got 60000',
    )
  })
})
