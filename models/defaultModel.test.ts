// The shipped default model (models/default, trained on vic-elec by `gridmesh forecast train`): it must load,
// stay small, and forecast a plausible next day from the end of the shipped history.
import { statSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { createFeatureContext } from '../core/forecast/createFeatureContext.ts'
import { predictLoad } from '../core/forecast/predictLoad.ts'
import { readLoadCsv } from '../core/forecast/readLoadCsv.ts'
import { readLoadModel } from '../core/forecast/readLoadModel.ts'
import { selectBackend } from '../core/forecast/selectBackend.ts'
import { toRegularSeries } from '../core/forecast/toRegularSeries.ts'

const dir = fileURLToPath(new URL('./default', import.meta.url))
const csvPath = fileURLToPath(new URL('./data/vic-elec-2012-2014.csv', import.meta.url))

describe('models/default', () => {
  beforeAll(async () => {
    await selectBackend('wasm', () => undefined)
  })

  it('is a complete model directory of a few tens of KB', () => {
    const files = readdirSync(dir).sort()
    expect(files).toEqual(['metadata.json', 'model.json', 'weights.bin'])
    const bytes = files.reduce((total, name) => total + statSync(join(dir, name)).size, 0)
    expect(bytes).toBeLessThan(300_000)
  })

  it('loads, validates its metadata and forecasts the day after the shipped history within a sane range', async () => {
    const { model, metadata } = await readLoadModel(dir)
    expect(metadata.features.withTemperature).toBe(false)
    expect(metadata.validation.dayAheadMapePct).toBeLessThan(Math.min(metadata.validation.seasonalNaiveDayMapePct, metadata.validation.seasonalNaiveWeekMapePct))
    // The last 10 days of the shipped history are enough for the lags.
    const text = readLoadCsv({ file: csvPath })
    const { series: full } = toRegularSeries(text, { slotMs: metadata.slotMs })
    const keep = 10 * metadata.slotsPerDay
    const series = { ...full, startMs: full.startMs + (full.loadKw.length - keep) * full.slotMs, loadKw: full.loadKw.slice(-keep), temperatureC: undefined, holiday: undefined }
    const context = createFeatureContext(series, metadata.timeZone, metadata.maxLeadSlots, false)
    const forecast = predictLoad(model, metadata, context, { issue: new Int32Array(48).fill(keep), lead: Int32Array.from({ length: 48 }, (_, k) => k + 1) })
    const recent = series.loadKw.subarray(-7 * metadata.slotsPerDay)
    const low = Math.min(...recent)
    const high = Math.max(...recent)
    for (const value of forecast) {
      expect(value).toBeGreaterThan(0.7 * low)
      expect(value).toBeLessThan(1.3 * high)
    }
  })
})
