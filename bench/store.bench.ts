// Store throughput: telemetry inserts as the control loop makes them (one appendTelemetry
// per cycle of 10 devices x 20 points) and a trend query (7 days of 1 s data for one point,
// downsampled to 1 min). Baselines measured in the same run: the same rows inserted
// without a transaction (one autocommit per row) and in batches with synchronous=FULL
// (an fsync per commit); the 1 min trend computed on the fly from the raw tier.
// Targets are this bench's own, derived from DESIGN.md: an append must fit in the
// 20 ms cycle p99 with room to spare (< 5 ms p99), and the 7-day trend query must leave
// most of the HMI's 200 ms for drawing (< 50 ms).
// Last stdout line: {"bench":"store","results":{...},"ratios":{...},"targets":{...}}
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { createStore, type TelemetrySample } from '../core/store/createStore.ts'

const DEVICES = 10
const POINTS = 20
const T0 = Date.UTC(2026, 10, 1)
const dir = mkdtempSync(join(tmpdir(), 'gm-store-bench-'))

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits
const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}
const median = (values: number[]) => quantile(values, 0.5)

function cycle(i: number): TelemetrySample[] {
  const samples: TelemetrySample[] = []
  for (let d = 0; d < DEVICES; d++) {
    for (let p = 0; p < POINTS; p++) samples.push({ timeMs: T0 + i * 1000, device: `device-${d}`, point: `point-${p}`, value: Math.sin(i / 60 + d + p) * 5000 })
  }
  return samples
}

/** The store's own path: validation, series ids, one transaction per cycle. */
function measureStore(cycles: number) {
  const path = join(dir, 'store.db')
  const store = createStore({ path })
  const batches = Array.from({ length: cycles }, (_, i) => cycle(i))
  store.appendTelemetry(batches[0]!) // series rows created outside the measurement
  const perCycleMs: number[] = []
  const perCycleCpuMs: number[] = []
  const downsampleMs: number[] = []
  for (let i = 1; i < cycles; i++) {
    const t = performance.now()
    const cpu = process.cpuUsage()
    store.appendTelemetry(batches[i]!)
    const used = process.cpuUsage(cpu)
    perCycleMs.push(performance.now() - t)
    perCycleCpuMs.push((used.user + used.system) / 1000)
    // the loop's once-a-minute housekeeping (roll up, prune, checkpoint), timed apart:
    // without it the WAL's auto-checkpoint lands in every ~150th append instead
    if (i % 60 === 0) {
      const d = performance.now()
      store.downsample(T0 + i * 1000)
      downsampleMs.push(performance.now() - d)
    }
  }
  const elapsedMs = perCycleMs.reduce((a, b) => a + b, 0)
  // one point over the whole run from the raw tier: clustered by time, the scan reads all 200 series
  const rawQueryMs: number[] = []
  const rawQueryCpuMs: number[] = []
  for (let i = 0; i < 5; i++) {
    const t = performance.now()
    const cpu = process.cpuUsage()
    store.queryTelemetry({ device: 'device-3', point: 'point-7', fromMs: T0, toMs: T0 + cycles * 1000 })
    const used = process.cpuUsage(cpu)
    rawQueryMs.push(performance.now() - t)
    rawQueryCpuMs.push((used.user + used.system) / 1000)
  }
  store.close()
  const bytes = statSync(path).size
  return { rowsPerS: ((cycles - 1) * DEVICES * POINTS) / (elapsedMs / 1000), perCycleMs, perCycleCpuMs, cycles, rawQueryMs: median(rawQueryMs), rawQueryCpuMs: median(rawQueryCpuMs), downsampleMs, bytesPerRow: bytes / (cycles * DEVICES * POINTS) }
}

/** The same rows on the same schema through a bare connection, per row or per batch. */
function measureBaseline(name: string, cycles: number, { transaction, synchronous }: { transaction: boolean; synchronous: 'NORMAL' | 'FULL' }) {
  const path = join(dir, `${name}.db`)
  createStore({ path }).close()
  const db = new Database(path)
  db.pragma('journal_mode = WAL')
  db.pragma(`synchronous = ${synchronous}`)
  const ids = new Map<string, number>()
  const addSeries = db.prepare('INSERT INTO series (device, point) VALUES (?, ?)')
  for (const s of cycle(0)) ids.set(`${s.device}/${s.point}`, Number(addSeries.run(s.device, s.point).lastInsertRowid))
  const insert = db.prepare('INSERT INTO telemetry_raw (series_id, time_ms, value) VALUES (?, ?, ?)')
  const insertAll = (samples: TelemetrySample[]) => {
    for (const s of samples) insert.run(ids.get(`${s.device}/${s.point}`), s.timeMs, s.value)
  }
  const batch = db.transaction(insertAll)
  const batches = Array.from({ length: cycles }, (_, i) => cycle(i + 1))
  const perCycleMs: number[] = []
  const started = performance.now()
  for (const samples of batches) {
    const t = performance.now()
    if (transaction) batch(samples)
    else insertAll(samples)
    perCycleMs.push(performance.now() - t)
  }
  const elapsedMs = performance.now() - started
  db.close()
  return { rowsPerS: (cycles * DEVICES * POINTS) / (elapsedMs / 1000), perCycleMs }
}

/** 7 days of 1 s data for one point: insert, roll up, then the 1 min trend from the tier and on the fly. */
function measureTrend() {
  const path = join(dir, 'trend.db')
  const days = 7
  const DAY = 86_400_000
  // raw kept 8 days so the on-the-fly baseline has the same 7 days to read
  const store = createStore({ path, retention: { rawMs: 8 * DAY, oneMinuteMs: 60 * DAY } })
  const hour = 3600
  let started = performance.now()
  for (let h = 0; h < days * 24; h++) {
    const samples: TelemetrySample[] = []
    for (let s = 0; s < hour; s++) samples.push({ timeMs: T0 + (h * hour + s) * 1000, device: 'meter', point: 'powerW', value: 2000 + Math.sin(s / 300) * 1500 + (s % 7) })
    store.appendTelemetry(samples)
  }
  const loadMs = performance.now() - started
  started = performance.now()
  const endMs = T0 + days * DAY
  store.downsample(endMs)
  const downsampleMs = performance.now() - started
  const query = { device: 'meter', point: 'powerW', fromMs: T0, toMs: endMs, tier: '1m' as const }
  const tierMs: number[] = []
  const tierCpuMs: number[] = []
  let rows = 0
  for (let i = 0; i < 15; i++) {
    const t = performance.now()
    const cpu = process.cpuUsage()
    rows = store.queryTelemetry(query).length
    const used = process.cpuUsage(cpu)
    tierMs.push(performance.now() - t)
    tierCpuMs.push((used.user + used.system) / 1000)
  }
  store.close()
  const db = new Database(path, { readonly: true })
  const onTheFly = db.prepare(
    `SELECT (r.time_ms / 60000) * 60000 AS t, avg(r.value), min(r.value), max(r.value), count(*)
     FROM telemetry_raw r JOIN series s ON s.id = r.series_id
     WHERE s.device = 'meter' AND s.point = 'powerW' AND r.time_ms >= ? AND r.time_ms < ? GROUP BY t ORDER BY t`,
  )
  const rawMs: number[] = []
  let rawRows = 0
  for (let i = 0; i < 5; i++) {
    const t = performance.now()
    rawRows = onTheFly.all(T0, endMs).length
    rawMs.push(performance.now() - t)
  }
  db.close()
  if (rawRows !== rows) throw new Error(`store bench: the tier gave ${rows} buckets, the raw aggregate ${rawRows}`)
  return {
    rows,
    loadRowsPerS: (days * 86_400) / (loadMs / 1000),
    downsampleMs,
    tierMs: median(tierMs),
    tierCpuMs: median(tierCpuMs),
    onTheFlyMs: median(rawMs),
  }
}

const store = measureStore(1_200)
process.stderr.write(`store appendTelemetry: ${round(store.rowsPerS, 0)} rows/s, p99 ${round(quantile(store.perCycleMs, 0.99), 2)} ms per cycle\n`)
const autocommit = measureBaseline('autocommit', 25, { transaction: false, synchronous: 'NORMAL' })
process.stderr.write(`baseline, one autocommit per row: ${round(autocommit.rowsPerS, 0)} rows/s\n`)
const syncFull = measureBaseline('sync-full', 150, { transaction: true, synchronous: 'FULL' })
process.stderr.write(`baseline, batched with synchronous=FULL: ${round(syncFull.rowsPerS, 0)} rows/s\n`)
const trend = measureTrend()
process.stderr.write(`7 days of 1 s data, 1 min trend: ${round(trend.tierMs, 2)} ms from the tier, ${round(trend.onTheFlyMs, 1)} ms on the fly from raw\n`)
rmSync(dir, { recursive: true, force: true })

const results = {
  insertRowsPerS: round(store.rowsPerS, 0),
  appendCycleMedianMs: round(median(store.perCycleMs), 3),
  appendCycleP99Ms: round(quantile(store.perCycleMs, 0.99), 3),
  appendCycleCpuMedianMs: round(median(store.perCycleCpuMs), 3),
  appendCycleCpuP99Ms: round(quantile(store.perCycleCpuMs, 0.99), 3),
  rowsPerCycle: DEVICES * POINTS,
  bytesPerRawRow: round(store.bytesPerRow, 1),
  rawTwoDays200PointsGB: round((store.bytesPerRow * 2 * 86_400 * DEVICES * POINTS) / 1e9, 2),
  autocommitRowsPerS: round(autocommit.rowsPerS, 0),
  syncFullBatchedRowsPerS: round(syncFull.rowsPerS, 0),
  syncFullCycleP99Ms: round(quantile(syncFull.perCycleMs, 0.99), 3),
  downsampleMinute200PointsMedianMs: round(median(store.downsampleMs), 2),
  downsampleMinute200PointsMaxMs: round(Math.max(...store.downsampleMs), 2),
  trend7d1mQueryMs: round(trend.tierMs, 2),
  trend7d1mQueryCpuMs: round(trend.tierCpuMs, 2),
  trend7d1mBuckets: trend.rows,
  rawOnePointOf200QueryMs: round(store.rawQueryMs, 1),
  rawOnePointOf200QueryCpuMs: round(store.rawQueryCpuMs, 1),
  rawOnePointOf200QueryRows: store.cycles,
  trend7d1mOnTheFlyMs: round(trend.onTheFlyMs, 1),
  trendLoadRowsPerS: round(trend.loadRowsPerS, 0),
  downsample7dMs: round(trend.downsampleMs, 0),
  // wall times on a shared machine: compare the CPU figures when the load is high
  loadAverage1m: round(loadavg()[0]!, 1),
  cpus: cpus().length,
}
const ratios = {
  insertVsAutocommit: round(store.rowsPerS / autocommit.rowsPerS, 2),
  insertVsSyncFull: round(store.rowsPerS / syncFull.rowsPerS, 2),
  trendTierVsOnTheFly: round(trend.tierMs / trend.onTheFlyMs, 4),
}
const targets = {
  appendCycleP99Ms: { max: 5, value: results.appendCycleP99Ms, met: results.appendCycleP99Ms < 5 },
  trend7d1mQueryMs: { max: 50, value: results.trend7d1mQueryMs, met: results.trend7d1mQueryMs < 50 },
}
process.stdout.write(`${JSON.stringify({ bench: 'store', results, ratios, targets })}\n`)
