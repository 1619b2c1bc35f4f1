// Adds P10/P90 calibration to a saved load model without retraining it: the split-conformal ratios per 2-hour
// lead block, from the model's forecasts over its own validation days (metadata.validation, which the weights
// never fitted on). Used once for models/default, which was trained before quantiles existed.
//   node bin/run-ts.js models/experiments/calibrateShippedModel.ts [models/default] [models/data/vic-elec-2012-2014.csv]
import { renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { calibrateModelQuantiles } from '../../core/forecast/calibrateModelQuantiles.ts'
import { createFeatureContext } from '../../core/forecast/createFeatureContext.ts'
import { readLoadCsv } from '../../core/forecast/readLoadCsv.ts'
import { readLoadModel } from '../../core/forecast/readLoadModel.ts'
import { selectBackend } from '../../core/forecast/selectBackend.ts'
import { toRegularSeries } from '../../core/forecast/toRegularSeries.ts'

const dir = process.argv[2] ?? 'models/default'
const file = process.argv[3] ?? 'models/data/vic-elec-2012-2014.csv'
await selectBackend('wasm')
const { model, metadata } = await readLoadModel(dir)
const { series } = toRegularSeries(readLoadCsv({ file, temperatureColumn: metadata.features.withTemperature ? undefined : false, timeZone: metadata.timeZone }), { slotMs: metadata.slotMs })
const indexOf = (iso: string) => Math.round((Date.parse(iso) - series.startMs) / series.slotMs)
const from = indexOf(metadata.validation.fromIso)
const to = Math.min(indexOf(metadata.validation.toIso), series.loadKw.length)
if (!(from > 8 * metadata.slotsPerDay && to > from)) throw new Error(`${file} does not cover the model's validation days ${metadata.validation.fromIso} to ${metadata.validation.toIso}`)
const context = createFeatureContext(series, metadata.timeZone, metadata.maxLeadSlots, metadata.features.withTemperature)
const quantiles = calibrateModelQuantiles({ model, metadata, context, from, to })
const updated = { ...metadata, quantiles: { ...quantiles, fromIso: metadata.validation.fromIso, toIso: metadata.validation.toIso } }
const temporary = join(dir, `.metadata.json.tmp-${process.pid}`)
writeFileSync(temporary, `${JSON.stringify(updated, null, 2)}\n`)
renameSync(temporary, join(dir, 'metadata.json'))
console.log(JSON.stringify({ dir, lowRatio: quantiles.lowRatio.map((r) => r.toFixed(3)).join(' '), highRatio: quantiles.highRatio.map((r) => r.toFixed(3)).join(' '), samples: quantiles.samples }))
