import { beforeAll, describe, expect, it } from 'vitest'
import { syntheticLoad } from '../../test/fixtures/forecast/syntheticLoad.ts'
import { crossValidateLoadForecast, crossValidationOrigins } from './crossValidateLoadForecast.ts'
import { selectBackend } from './selectBackend.ts'
import { trainLoadModel, type TrainLoadModelParameters } from './trainLoadModel.ts'
import type { LoadSeries } from './toRegularSeries.ts'

// 2024-01-01 to 2024-04-29 hourly: month starts Feb 1, Mar 1, Apr 1 follow 31, 60 and 91 days of history.
const seriesOf = (loadKw?: Float64Array): LoadSeries => {
  const s = syntheticLoad({ startIso: '2024-01-01T00:00:00Z', days: 120, slotMinutes: 60, noisePct: 3 })
  return { startMs: s.startMs, slotMs: s.slotMs, loadKw: loadKw ?? Float64Array.from(s.loadKw), temperatureC: undefined, holiday: undefined }
}

describe('crossValidationOrigins', () => {
  it('puts an origin on each local 1st of every n-th month after the minimum history, each testing until the next', () => {
    const series = seriesOf()
    const iso = (i: number) => new Date(series.startMs + i * series.slotMs).toISOString()
    const monthly = crossValidationOrigins(series, 'UTC', 1, 30)
    expect(monthly.map((f) => iso(f.start))).toEqual(['2024-02-01T00:00:00.000Z', '2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'])
    expect(monthly.map((f) => iso(f.end))).toEqual(['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z', '2024-04-30T00:00:00.000Z'])
    expect(crossValidationOrigins(series, 'UTC', 3, 30).map((f) => iso(f.start))).toEqual(['2024-04-01T00:00:00.000Z'])
    // In Melbourne the 1st of March starts at 13:00 UTC the day before (UTC+11).
    expect(crossValidationOrigins(series, 'Australia/Melbourne', 1, 45).map((f) => iso(f.start))).toEqual(['2024-02-29T13:00:00.000Z', '2024-03-31T13:00:00.000Z'])
  })
})

describe('crossValidateLoadForecast', () => {
  beforeAll(async () => {
    await selectBackend('wasm', () => undefined)
  })

  it('trains each fold only on the history before its origin: changing the future leaves the fold unchanged', async () => {
    const calls: number[] = []
    const run = (series: LoadSeries) =>
      crossValidateLoadForecast({
        series,
        timeZone: 'UTC',
        source: 'synthetic',
        foldMonths: 1,
        minimumTrainingDays: 55,
        horizonSlots: 24,
        epochs: 2,
        maxSamples: 3000,
        seed: 5,
        train: (p: TrainLoadModelParameters) => {
          calls.push(p.endIndex ?? -1)
          return trainLoadModel(p)
        },
      })
    const clean = seriesOf()
    const first = await run(clean)
    expect(first.folds).toHaveLength(2)
    expect(calls).toEqual([60 * 24, 91 * 24])
    for (const fold of first.folds) {
      // The model's training and validation end where the fold's test starts.
      expect(fold.train.toIso).toBe(fold.test.fromIso)
      for (const method of ['model', 'seasonalNaiveDay', 'seasonalNaiveWeek', 'holtWinters'] as const) expect(fold.dayAhead[method].count).toBe(fold.test.days * 24)
      expect(fold.quantiles?.count).toBe(fold.test.days * 24)
    }
    expect(first.folds.map((f) => f.test.days)).toEqual([31, 29])
    // Double every load from April 10 on: fold 1 (March) must not move; fold 2 (April) must.
    const poisoned = Float64Array.from(clean.loadKw, (v, i) => (clean.startMs + i * clean.slotMs >= Date.parse('2024-04-10T00:00:00Z') ? 2 * v : v))
    const second = await run(seriesOf(poisoned))
    expect(second.folds[0]).toEqual({ ...first.folds[0], train: { ...first.folds[0]!.train, durationMs: second.folds[0]!.train.durationMs } })
    expect(second.folds[1]!.dayAhead.model.maeKw).toBeGreaterThan(first.folds[1]!.dayAhead.model.maeKw)
    expect(first.summary.folds).toBe(2)
    expect(first.summary.foldsMet).toBe(first.folds.filter((f) => f.targetMet).length)
  }, 180_000)

  it('says how long the series is when no fold fits', async () => {
    const series = seriesOf()
    await expect(crossValidateLoadForecast({ series, timeZone: 'UTC', source: 's', horizonSlots: 24, minimumTrainingDays: 200, train: trainLoadModel })).rejects.toThrow('the series has 120.0 days')
  })
})
