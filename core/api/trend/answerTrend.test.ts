import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createStore, type Store, type TelemetrySample } from '../../store/createStore.ts'
import { answerTrend } from './answerTrend.ts'
import { writeTrendCsv } from './writeTrendCsv.ts'

// A store as 90 days of a running site leave it: one sample a minute for 90 days (rolled
// into the 1 min and 15 min tiers and pruned by the default retention as the loop's
// housekeeping does), and one every 5 s over the last 2 days in the raw tier.
const MIN = 60_000
const D = 86_400_000
const nowMs = Date.UTC(2026, 11, 2)
const startMs = nowMs - 90 * D
const dir = mkdtempSync(join(tmpdir(), 'gridmesh-trend-'))
let store: Store
const loadW = (t: number) => 2000 + 1500 * Math.sin((2 * Math.PI * t) / D) + ((t / MIN) % 7) * 10

beforeAll(() => {
  let clock = startMs
  store = createStore({ path: join(dir, 'trend.db'), now: () => clock })
  const batch: TelemetrySample[] = []
  const flush = () => {
    store.appendTelemetry(batch)
    batch.length = 0
  }
  for (let t = startMs; t < nowMs; ) {
    const stepMs = t >= nowMs - 2 * D ? 5_000 : MIN
    batch.push({ timeMs: t, device: 'site', point: 'loadW', value: loadW(t) }, { timeMs: t, device: 'bat1', point: 'socPct', value: 50 })
    t += stepMs
    if (batch.length >= 10_000) flush()
    // housekeeping once a simulated day
    if (t % D === 0) {
      flush()
      clock = t
      store.downsample(t)
    }
  }
  flush()
  store.downsample(nowMs)
}, 120_000)

afterAll(() => {
  store?.close()
  rmSync(dir, { recursive: true, force: true })
})

const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v))

describe('answerTrend on 90 days of stored data', () => {
  it('answers 90 days in less than 1 MB from the 15-minute tier, min and max kept', () => {
    const answer = answerTrend(store, { device: 'site', point: 'loadW', fromMs: startMs, toMs: nowMs }, nowMs)
    expect(answer.tier).toBe('15m')
    expect(answer.sourceRows).toBe(90 * 96)
    expect(answer.rows.length).toBeLessThanOrEqual(4000)
    const size = bytes(answer)
    console.log(`90-day trend: ${answer.sourceRows} rows of ${answer.tier} -> ${answer.rows.length} points, ${size} bytes`)
    expect(size).toBeLessThan(1_000_000)
    // the extremes of the whole range survive the thinning
    const all = store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: startMs, toMs: nowMs, tier: '15m' })
    expect(Math.max(...answer.rows.map((r) => r.max ?? r.value))).toBe(Math.max(...all.map((r) => r.max!)))
    expect(Math.min(...answer.rows.map((r) => r.min ?? r.value))).toBe(Math.min(...all.map((r) => r.min!)))
    // with the largest maxPoints allowed, still under 1 MB
    expect(bytes(answerTrend(store, { device: 'site', point: 'loadW', fromMs: startMs, toMs: nowMs, maxPoints: 16_000 }, nowMs))).toBeLessThan(1_000_000)
  })

  it('changes tier with the range: 10 min and 6 h raw, 2 days and 7 days 1 min, 8 and 90 days 15 min, old short ranges coarser', () => {
    const tierFor = (fromMs: number, toMs: number) => {
      const a = answerTrend(store, { device: 'site', point: 'loadW', fromMs, toMs, maxPoints: 1000 }, nowMs)
      expect(a.rows.length, `${a.tier} ${toMs - fromMs} ms`).toBeGreaterThan(0)
      expect(a.rows.length).toBeLessThanOrEqual(1000)
      return a.tier
    }
    expect(tierFor(nowMs - 10 * MIN, nowMs)).toBe('raw')
    expect(tierFor(nowMs - 6 * 60 * MIN, nowMs)).toBe('raw')
    expect(tierFor(nowMs - 2 * D, nowMs)).toBe('1m')
    expect(tierFor(nowMs - 7 * D, nowMs)).toBe('1m')
    expect(tierFor(nowMs - 8 * D, nowMs)).toBe('15m')
    expect(tierFor(nowMs - 30 * D, nowMs - 30 * D + 60 * MIN)).toBe('1m')
    expect(tierFor(nowMs - 80 * D, nowMs - 80 * D + 60 * MIN)).toBe('15m')
    // 10 minutes of 5 s samples is 120 rows: nothing to thin
    const raw = answerTrend(store, { device: 'site', point: 'loadW', fromMs: nowMs - 10 * MIN, toMs: nowMs }, nowMs)
    expect(raw.rows).toEqual(store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: nowMs - 10 * MIN, toMs: nowMs }).map((r) => ({ timeMs: r.timeMs, value: r.value })))
    // a tier asked for is used as asked
    expect(answerTrend(store, { device: 'site', point: 'loadW', fromMs: nowMs - D, toMs: nowMs, tier: '15m' }, nowMs).rows).toHaveLength(96)
  })

  it('exports the tier of the range as CSV: one point, or every point of the site', async () => {
    const sink = () => {
      let text = ''
      return { stream: new Writable({ write: (c, _e, cb) => ((text += String(c)), cb()) }), text: () => text }
    }
    const one = sink()
    expect(await writeTrendCsv(store, { device: 'site', point: 'loadW', fromMs: nowMs - D, toMs: nowMs }, nowMs, one.stream)).toEqual({ tier: '1m', rows: 1440 })
    const lines = one.text().trimEnd().split('\r\n')
    expect(lines[0]).toBe('time,device,point,avg,min,max')
    expect(lines).toHaveLength(1441)
    expect(lines[1]).toMatch(/^2026-12-01T00:00:00\.000Z,site,loadW,[\d.]+,[\d.]+,[\d.]+$/)
    const all = sink()
    expect(await writeTrendCsv(store, { fromMs: nowMs - 10 * MIN, toMs: nowMs }, nowMs, all.stream)).toEqual({ tier: 'raw', rows: 240 })
    expect(new Set(all.text().trimEnd().split('\r\n').slice(1).map((l) => l.split(',').slice(1, 3).join('/')))).toEqual(new Set(['site/loadW', 'bat1/socPct']))
  })
})
