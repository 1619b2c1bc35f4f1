import { readLoadCsv } from '../../core/forecast/readLoadCsv.ts'
import { toRegularSeries } from '../../core/forecast/toRegularSeries.ts'
import { selectBackend } from '../../core/forecast/selectBackend.ts'
import { trainLoadModel } from '../../core/forecast/trainLoadModel.ts'
import { createFeatureContext } from '../../core/forecast/createFeatureContext.ts'
import { evaluateLoadForecast } from '../../core/forecast/evaluateLoadForecast.ts'
import { testWindowStart } from '../../core/forecast/testWindowStart.ts'
import * as tf from '@tensorflow/tfjs'

const tz = 'Australia/Melbourne'
const t0 = Date.now()
const csv = readLoadCsv({ file: 'models/data/vic-elec-2012-2014.csv' })
const { series: full, report } = toRegularSeries(csv)
console.error('read', Date.now() - t0, 'ms', report.duplicates, report.gaps.length, full.loadKw.length)
// dev: cut off the real test window (last 56 days) and evaluate on the 56 days before it
const ctxFull = createFeatureContext(full, tz, 0)
const realTest = testWindowStart(ctxFull, 56)
const cut = Number(process.env.CUT ?? '1') ? realTest : full.loadKw.length
const series = { ...full, loadKw: full.loadKw.slice(0, cut), temperatureC: full.temperatureC?.slice(0, cut), holiday: full.holiday?.slice(0, cut) }
const withTemperature = process.env.GRIDMESH_TEMPERATURE !== '0'
const ctx = createFeatureContext(series, tz, 96, withTemperature)
const testStart = testWindowStart(ctx, 56)
console.error('testStart', new Date(series.startMs + testStart * series.slotMs).toISOString())
await selectBackend('wasm')
const trained = await trainLoadModel({ series, timeZone: tz, source: 'vic', endIndex: testStart, epochs: Number(process.env.EPOCHS ?? 12), maxSamples: process.env.SAMPLES ? Number(process.env.SAMPLES) : undefined, withTemperature, architecture: process.env.HIDDEN !== undefined ? { kind: 'dense-embeddings', hidden: process.env.HIDDEN ? process.env.HIDDEN.split(',').map(Number) : [], slotEmbedding: 8, weekdayEmbedding: 3 } : undefined, onProgress: (p) => console.error(JSON.stringify(p)) })
console.error('train ms', trained.metadata.training.durationMs, JSON.stringify(trained.metadata.validation))
const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: trained.artifacts.modelTopology, weightSpecs: trained.artifacts.weightSpecs, weightData: trained.artifacts.weightData }))
const result = evaluateLoadForecast({ context: ctx, model, metadata: trained.metadata, testStart, horizonSlots: 48 })
const o = result.dayAhead.overall
console.log(JSON.stringify({ window: result.testWindow, dayAhead: Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.mapePct.toFixed(2)])), rolling: Object.fromEntries(Object.entries(result.rollingOneStep.overall).map(([k, v]) => [k, v.mapePct.toFixed(2)])), summary: result.summary, hw: result.holtWintersParameters }))
