import { beforeAll, describe, expect, it } from 'vitest'
import { syntheticLoad } from '../../test/fixtures/forecast/syntheticLoad.ts'
import { createFeatureContext } from './createFeatureContext.ts'
import { predictLoad } from './predictLoad.ts'
import { modelFromArtifacts } from './modelFromArtifacts.ts'
import { selectBackend } from './selectBackend.ts'
import { trainLoadModel, type TrainProgress } from './trainLoadModel.ts'

const seriesOf = (days: number) => {
  const { startMs, slotMs, loadKw } = syntheticLoad({ days, slotMinutes: 60, noisePct: 2 })
  return { startMs, slotMs, loadKw: Float64Array.from(loadKw), temperatureC: undefined, holiday: undefined }
}

describe('trainLoadModel', () => {
  beforeAll(async () => {
    await selectBackend('wasm', () => undefined)
  })

  it('trains on a small history, keeps the best epoch and records what a forecast needs', async () => {
    const series = seriesOf(42)
    const progress: TrainProgress[] = []
    const trained = await trainLoadModel({ series, timeZone: 'UTC', source: 'synthetic', epochs: 4, onProgress: (p) => progress.push(p) })
    const { metadata } = trained
    expect(progress.map((p) => p.epoch)).toEqual([1, 2, 3, 4])
    expect(Math.min(...progress.map((p) => p.valLoss))).toBe(metadata.validation.loss)
    expect(metadata.features.numeric.length).toBe(metadata.scalers.numericMean.length)
    expect(metadata.slotsPerDay).toBe(24)
    expect(metadata.training.backend).toBe('wasm')
    expect(Date.parse(metadata.validation.toIso)).toBe(series.startMs + 42 * 86_400_000)
    expect(Number.isFinite(metadata.validation.dayAheadMapePct)).toBe(true)
    // P10/P90 calibrated on the validation days: one ratio pair per 2-hour lead block over the 48 h horizon,
    // below and above 1 (the synthetic load has +-2 % noise, so neither side is far off).
    expect(metadata.quantiles?.fromIso).toBe(metadata.validation.fromIso)
    expect(metadata.quantiles?.lowRatio).toHaveLength(24)
    for (const [b, low] of metadata.quantiles!.lowRatio.entries()) {
      expect(low).toBeLessThan(1)
      expect(low).toBeGreaterThan(0.8)
      expect(metadata.quantiles!.highRatio[b]).toBeGreaterThan(1)
      expect(metadata.quantiles!.highRatio[b]).toBeLessThan(1.2)
    }

    const model = await modelFromArtifacts(trained.artifacts)
    const context = createFeatureContext(series, 'UTC', 48)
    const issue = series.loadKw.length
    const forecast = predictLoad(model, metadata, context, { issue: new Int32Array(24).fill(issue), lead: Int32Array.from({ length: 24 }, (_, k) => k + 1) })
    // The synthetic load stays between 50 and 200 kW; a forecast far outside means scaling is broken.
    for (const value of forecast) {
      expect(value).toBeGreaterThan(40)
      expect(value).toBeLessThan(250)
    }
  })

  it('takes enough optimizer steps on a small history to come near the best seasonal naive', async () => {
    // Six weeks of hourly data is ~2,500 samples: with a large-data batch size that would be a handful of steps.
    const { metadata } = await trainLoadModel({ series: seriesOf(42), timeZone: 'UTC', source: 'synthetic' })
    const bestNaive = Math.min(metadata.validation.seasonalNaiveDayMapePct, metadata.validation.seasonalNaiveWeekMapePct)
    expect(metadata.training.epochs).toBeGreaterThan(12)
    expect(metadata.validation.dayAheadMapePct).toBeLessThan(1.5 * bestNaive)
  }, 120_000)

  it('gives the same weights for the same seed, and other weights for another seed', async () => {
    // model.fit's own shuffle draws from Math.random: two evals of one file differed by up to 5 %.
    const series = seriesOf(42)
    const train = (seed: number) => trainLoadModel({ series, timeZone: 'UTC', source: 'synthetic', epochs: 3, seed })
    const [a, b, c] = [await train(11), await train(11), await train(12)]
    expect(Buffer.from(b.artifacts.weightData).equals(Buffer.from(a.artifacts.weightData))).toBe(true)
    expect(b.metadata.validation.dayAheadMapePct).toBe(a.metadata.validation.dayAheadMapePct)
    expect(Buffer.from(c.artifacts.weightData).equals(Buffer.from(a.artifacts.weightData))).toBe(false)
  })

  it('refuses a history shorter than three weeks, saying how long it is', async () => {
    await expect(trainLoadModel({ series: seriesOf(10), timeZone: 'UTC', source: 'synthetic', epochs: 1 })).rejects.toThrow('too short: 10.0 days of history; training needs at least 21 days')
  })
})
