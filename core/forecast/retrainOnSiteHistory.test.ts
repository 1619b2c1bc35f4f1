import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { retrainOnSiteHistory } from './retrainOnSiteHistory.ts'
import type { TrainLoadModelResult } from './trainLoadModel.ts'

const csvPath = fileURLToPath(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url))
const shipped = fileURLToPath(new URL('../../models/default', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'gridmesh-retrain-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

// Six weeks of vic-elec scaled to a house (peak 7 kW), as 15-minute slot means like the controller keeps.
function siteHistory(fromIso: string, days: number): Map<number, { loadW: number }> {
  const rows = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','))
  const from = Date.parse(fromIso)
  const to = from + days * 86_400_000
  const scale = 7000 / 10_000
  const history = new Map<number, { loadW: number }>()
  for (const r of rows) {
    const t = Date.parse(r[0]!)
    if (t < from || t >= to) continue
    history.set(t, { loadW: Number(r[1]) * scale })
    history.set(t + 900_000, { loadW: Number(r[1]) * scale })
  }
  return history
}

const shippedResult = (): TrainLoadModelResult => {
  const metadata = JSON.parse(readFileSync(join(shipped, 'metadata.json'), 'utf8'))
  return { metadata, artifacts: { modelTopology: {}, weightSpecs: [], weightData: new ArrayBuffer(0) } }
}

describe('retrainOnSiteHistory', () => {
  it('trains on the site history in a worker and keeps the model when it beats seasonal naive', async () => {
    const history = siteHistory('2014-06-01T14:00:00Z', 42)
    const dir = join(work, 'site-model')
    const outcome = await retrainOnSiteHistory({ history, timeZone: 'Australia/Melbourne', nowMs: Date.parse('2014-07-13T14:00:00Z'), dir, source: 'site:test' })
    expect(outcome.days).toBeCloseTo(42, 5)
    expect(outcome.reason).toMatch(/MAPE/)
    expect(outcome.validation).not.toBeNull()
    const v = outcome.validation!
    expect(outcome.accepted).toBe(v.dayAheadMapePct < Math.min(v.seasonalNaiveDayMapePct, v.seasonalNaiveWeekMapePct))
    expect(outcome.accepted).toBe(true)
    expect(outcome.model?.metadata.training.source).toBe('site:test')
    expect(outcome.model?.metadata.slotMs).toBe(1_800_000)
    expect(readdirSync(dir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin'])
  }, 120_000)

  it('keeps the previous model when the new one is no better than seasonal naive', async () => {
    const dir = join(work, 'kept')
    const worse = shippedResult()
    worse.metadata.validation = { ...worse.metadata.validation, dayAheadMapePct: 9, seasonalNaiveDayMapePct: 8, seasonalNaiveWeekMapePct: 12 }
    const outcome = await retrainOnSiteHistory({ history: siteHistory('2014-06-01T14:00:00Z', 30), timeZone: 'Australia/Melbourne', nowMs: Date.parse('2014-07-01T14:00:00Z'), dir, source: 'site:test', train: async () => worse })
    expect(outcome).toMatchObject({ accepted: false, model: null })
    expect(outcome.reason).toBe("day-ahead MAPE 9.00 % on its validation weeks is not below seasonal naive's 8.00 %; the previous model is kept")
    expect(() => readdirSync(dir)).toThrow(/ENOENT/)
  })

  it('a failed training says why and leaves the saved model untouched', async () => {
    const dir = join(work, 'site-model')
    const before = readFileSync(join(dir, 'weights.bin'))
    const outcome = await retrainOnSiteHistory({ history: siteHistory('2014-06-01T14:00:00Z', 5), timeZone: 'Australia/Melbourne', nowMs: Date.parse('2014-06-06T14:00:00Z'), dir, source: 'site:test' })
    expect(outcome.accepted).toBe(false)
    expect(outcome.reason).toBe('training failed: too short: 5.0 days of history; training needs at least 21 days (8 for the lags, the rest to learn from); the previous model is kept')
    expect(readFileSync(join(dir, 'weights.bin')).equals(before)).toBe(true)
  })

  it('with no history it does not train', async () => {
    const outcome = await retrainOnSiteHistory({ history: new Map(), timeZone: 'UTC', nowMs: 0, dir: join(work, 'none'), source: 'site:test', train: () => Promise.reject(new Error('must not be called')) })
    expect(outcome).toMatchObject({ accepted: false, reason: 'no history yet', days: 0 })
  })
})
