import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSiteLoadForecaster, type SiteLoadModel } from './createSiteLoadForecaster.ts'
import { readLoadModel } from './readLoadModel.ts'
import { selectBackend } from './selectBackend.ts'

const dayMs = 86_400_000
const halfHourMs = 1_800_000
const quarterMs = 900_000
const csvPath = fileURLToPath(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url))
const modelDir = fileURLToPath(new URL('../../models/default', import.meta.url))

// vic-elec demand scaled so its peak is a house's 7 kW, as the demo site's simulator does.
function readVicElecW(): { startMs: number; loadW: number }[] {
  const rows = readFileSync(csvPath, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','))
  const mw = rows.map((r) => Number(r[1]))
  const scale = 7000 / Math.max(...mw)
  return rows.map((r, i) => ({ startMs: Date.parse(r[0]!), loadW: mw[i]! * scale }))
}

const mae = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0) / a.length

describe('createSiteLoadForecaster', () => {
  let model: SiteLoadModel
  let vic: { startMs: number; loadW: number }[]
  beforeAll(async () => {
    await selectBackend('wasm', () => undefined)
    model = await readLoadModel(modelDir)
    vic = readVicElecW()
  })

  const historyBefore = (fromMs: number, days: number) => vic.filter((h) => h.startMs < fromMs && h.startMs >= fromMs - days * dayMs)
  const actual = (fromMs: number, slots: number, slotMs: number) =>
    Array.from({ length: slots }, (_, k) => vic.find((h) => h.startMs === Math.floor((fromMs + k * slotMs) / halfHourMs) * halfHourMs)!.loadW)

  it('falls back to seasonal naive, saying why, with less than a week of history', () => {
    const forecaster = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne', model })
    const fromMs = Date.parse('2014-10-20T13:00:00Z')
    const result = forecaster.forecast({ history: historyBefore(fromMs, 3), fromMs, slotMs: quarterMs, slots: 96 })
    expect(result.method).toBe('seasonal-naive')
    expect(result.reason).toMatch(/3\.00 days of history; the model needs 7 days \+ 1 slot/)
    // Same slot yesterday: both quarter hours of a half-hour sample repeat it.
    const yesterday = historyBefore(fromMs, 1)
    const expected = [yesterday[0]!.loadW, yesterday[0]!.loadW, yesterday[1]!.loadW, yesterday[1]!.loadW]
    result.loadW.slice(0, 4).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6))
  })

  it('without a model or history: seasonal naive, then the mean, then zero, never NaN', () => {
    const forecaster = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne' })
    const fromMs = Date.parse('2014-10-20T13:00:00Z')
    expect(forecaster.forecast({ history: [], fromMs, slotMs: quarterMs, slots: 4 })).toEqual({ loadW: [0, 0, 0, 0], method: 'seasonal-naive', reason: 'no model' })
    // Two hours of history: nothing from yesterday, so the mean of what there is.
    const short = forecaster.forecast({ history: [{ startMs: fromMs - 2 * halfHourMs, loadW: 1000 }, { startMs: fromMs - halfHourMs, loadW: 3000 }], fromMs, slotMs: quarterMs, slots: 3 })
    expect(short.loadW).toEqual([2000, 2000, 2000])
  })

  it('uses the model with a week of history, at any history and output slot length, and through holes', () => {
    const forecaster = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne', model })
    const fromMs = Date.parse('2014-10-20T13:00:00Z')
    const history = historyBefore(fromMs, 7 * 2 + 1)
    const half = forecaster.forecast({ history, fromMs, slotMs: halfHourMs, slots: 48 })
    expect(half).toMatchObject({ method: 'model' })
    expect(half.reason).toBeUndefined()
    // The same history given as quarter hours, forecast at quarter hours: a half-hour value covers both.
    const quarters = history.flatMap((h) => [{ startMs: h.startMs, loadW: h.loadW }, { startMs: h.startMs + quarterMs, loadW: h.loadW }])
    const quarter = forecaster.forecast({ history: quarters, fromMs, slotMs: quarterMs, slots: 96 })
    expect(quarter.method).toBe('model')
    for (let k = 0; k < 48; k++) {
      expect(quarter.loadW[2 * k]).toBeCloseTo(half.loadW[k]!, 6)
      expect(quarter.loadW[2 * k + 1]).toBeCloseTo(half.loadW[k]!, 6)
    }
    // Hourly output averages two model slots.
    const hourly = forecaster.forecast({ history, fromMs, slotMs: 2 * halfHourMs, slots: 24 })
    expect(hourly.loadW[0]).toBeCloseTo((half.loadW[0]! + half.loadW[1]!) / 2, 6)
    // A six-hour hole three days back and a missing sample now and then still leave the model usable.
    const holey = history.filter((h, i) => !(h.startMs >= fromMs - 3 * dayMs && h.startMs < fromMs - 3 * dayMs + 6 * 3_600_000) && i % 17 !== 0)
    const withHoles = forecaster.forecast({ history: holey, fromMs, slotMs: quarterMs, slots: 96 })
    expect(withHoles.method).toBe('model')
    expect(withHoles.loadW.every(Number.isFinite)).toBe(true)
    expect(mae(withHoles.loadW, quarter.loadW)).toBeLessThan(0.05 * mae(quarter.loadW, new Array(96).fill(0)))
    // Past the model's 48 h, slots come from seasonal naive and the reason says so.
    const long = forecaster.forecast({ history, fromMs, slotMs: quarterMs, slots: 3 * 96 })
    expect(long.method).toBe('model')
    expect(long.reason).toMatch(/96 of 288 slots from seasonal naive/)
    // Samples at or after fromMs are not history: they cannot leak into the forecast.
    const leaked = forecaster.forecast({ history: [...history, ...vic.filter((h) => h.startMs >= fromMs && h.startMs < fromMs + dayMs).map((h) => ({ ...h, loadW: 1e6 }))], fromMs, slotMs: halfHourMs, slots: 48 })
    expect(leaked.loadW).toEqual(half.loadW)
  })

  it('gives P10/P90 calibrated on the site\'s own errors: a site far noisier than the training data is still covered 70-90 %', () => {
    // A house is much less predictable than a state: vic-elec with +-40 % seeded noise on every half hour.
    let state = 12345
    const noisy = vic.map((h) => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0
      return { startMs: h.startMs, loadW: h.loadW * (1 + 0.4 * (2 * (state / 4294967296) - 1)) }
    })
    const forecaster = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne', model })
    const coverage = (series: { startMs: number; loadW: number }[], historyDays: number) => {
      let inside = 0
      let count = 0
      let source = ''
      for (let day = 0; day < 14; day++) {
        const fromMs = Date.parse('2014-10-05T13:00:00Z') + day * dayMs
        const result = forecaster.forecast({ history: series.filter((h) => h.startMs < fromMs && h.startMs >= fromMs - historyDays * dayMs), fromMs, slotMs: halfHourMs, slots: 48 })
        expect(result.loadP10W).toHaveLength(48)
        source = result.quantileSource ?? ''
        series.filter((h) => h.startMs >= fromMs && h.startMs < fromMs + dayMs).forEach((h, k) => {
          count++
          if (h.loadW >= result.loadP10W![k]! && h.loadW <= result.loadP90W![k]!) inside++
          expect(result.loadP10W![k]!).toBeLessThanOrEqual(result.loadW[k]!)
          expect(result.loadP90W![k]!).toBeGreaterThanOrEqual(result.loadW[k]!)
        })
      }
      return { pct: (100 * inside) / count, source }
    }
    const own = coverage(noisy, 40)
    expect(own.source).toMatch(/errors on this site over the last 28 days/)
    expect(own.pct).toBeGreaterThan(70)
    expect(own.pct).toBeLessThan(90)
    // With too little history for its own calibration the band is the training's: far too narrow for this site.
    const borrowed = coverage(noisy, 12)
    expect(borrowed.source).toMatch(/calibration 2014-09-13 to 2014-12-31 on its training data/)
    expect(borrowed.pct).toBeLessThan(50)
  })

  it('swaps models with setModel and falls back when the model needs temperature', () => {
    const forecaster = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne' })
    const fromMs = Date.parse('2014-10-20T13:00:00Z')
    const request = { history: historyBefore(fromMs, 10), fromMs, slotMs: quarterMs, slots: 8 }
    expect(forecaster.forecast(request).method).toBe('seasonal-naive')
    forecaster.setModel(model)
    expect(forecaster.forecast(request).method).toBe('model')
    forecaster.setModel({ ...model, metadata: { ...model.metadata, features: { ...model.metadata.features, withTemperature: true } } })
    expect(forecaster.forecast(request)).toMatchObject({ method: 'seasonal-naive', reason: expect.stringMatching(/temperature/) })
  })

  it('beats seasonal naive day-ahead on four held-out weeks of vic-elec in watts', () => {
    // 2014-10-06 .. 2014-11-02 (Melbourne): after the default model's training window (it ends 2014-09-13).
    expect(Date.parse(model.metadata.training.toIso)).toBeLessThan(Date.parse('2014-10-05T13:00:00Z'))
    const withModel = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne', model })
    const naive = createSiteLoadForecaster({ timeZone: 'Australia/Melbourne' })
    const errors = { model: [] as number[], naive: [] as number[] }
    for (let day = 0; day < 28; day++) {
      const fromMs = Date.parse('2014-10-05T13:00:00Z') + day * dayMs
      const request = { history: historyBefore(fromMs, 9), fromMs, slotMs: quarterMs, slots: 96 }
      const truth = actual(fromMs, 96, quarterMs)
      const m = withModel.forecast(request)
      expect(m.method).toBe('model')
      errors.model.push(mae(m.loadW, truth))
      errors.naive.push(mae(naive.forecast(request).loadW, truth))
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length
    expect(mean(errors.model)).toBeLessThan(0.8 * mean(errors.naive))
  })
})
