import type Database from 'better-sqlite3'
import { StoreInputError } from './errors.ts'
import { checkFinite, checkQuery, checkText, checkTimeMs, iso, PAGE_ROWS } from './storeChecks.ts'
import type { TelemetryQuery, TelemetryRow, TelemetrySample, TelemetryTier } from './storeTypes.ts'

const MINUTE_MS = 60_000
const QUARTER_MS = 15 * MINUTE_MS
const TIERS: readonly TelemetryTier[] = ['raw', '1m', '15m']

type RollupState = { tier: TelemetryTier; rolled_before_ms: number; pruned_before_ms: number }
type Series = { id: number; device: string; point: string }
type CsvRow = (fields: (string | number | boolean | null)[]) => Promise<void>

const floorTo = (ms: number, bucketMs: number) => Math.floor(ms / bucketMs) * bucketMs
const seriesKey = (device: string, point: string) => `${device}\u0000${point}`

export function checkTier(method: string, value: unknown): TelemetryTier {
  if (value === undefined) return 'raw'
  if (!TIERS.includes(value as TelemetryTier)) throw new StoreInputError({ method, field: 'tier', expected: `one of ${TIERS.join(', ')}`, got: value })
  return value as TelemetryTier
}

/**
 * Telemetry in three tiers: raw samples (clustered by time), 1-minute and 15-minute
 * buckets (average, min, max, count per series) rolled up from the tier below, each pruned
 * beyond its retention.
 */
export function createTelemetryStore(db: Database.Database, keep: { rawMs: number; oneMinuteMs: number; fifteenMinuteMs: number | null }) {
  // Range statements take (series, from, to, after, limit): `after` and `limit` page the export.
  const tierRange = (table: string) =>
    db
      .prepare<[number, number, number, number, number], [number, number, number, number, number]>(
        `SELECT time_ms, avg, min, max, count FROM ${table}
         WHERE series_id = ? AND time_ms >= ? AND time_ms < ? AND time_ms > ? ORDER BY time_ms LIMIT ?`,
      )
      .raw()
  const q = {
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
  }
  const seriesIds = new Map<string, number>()
  for (const s of q.allSeries.all()) seriesIds.set(seriesKey(s.device, s.point), s.id)
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

  return {
    appendTelemetry,
    queryTelemetry,
    listSeries: () => q.allSeries.all().map(({ device, point }) => ({ device, point })),
    downsample,
    /** CSV rows of one tier in [fromMs, toMs): raw in time order, buckets by device, point, then time. */
    async writeCsv({ fromMs, toMs }: { fromMs: number; toMs: number }, tier: TelemetryTier, row: CsvRow): Promise<void> {
      if (tier === 'raw') {
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
        return
      }
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
    },
  }
}
