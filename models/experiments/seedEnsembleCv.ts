// Experiment: does averaging models of several seeds (bagging-lite), or mixing in Holt-Winters, help on the
// cross-validation folds? Same folds and per-fold settings as `forecast eval --cv` (6 epochs, 40 000 rows,
// no temperature).
//   FOLDS=1,3,10 SEEDS=7,8,9 node bin/run-ts.js models/experiments/seedEnsembleCv.ts
import { createFeatureContext } from '../../core/forecast/createFeatureContext.ts'
import { crossValidationOrigins } from '../../core/forecast/crossValidateLoadForecast.ts'
import { fitHoltWinters, forecastHoltWinters } from '../../core/forecast/holtWinters.ts'
import { localMidnights } from '../../core/forecast/localMidnights.ts'
import { modelFromArtifacts } from '../../core/forecast/modelFromArtifacts.ts'
import { predictLoad } from '../../core/forecast/predictLoad.ts'
import { readLoadCsv } from '../../core/forecast/readLoadCsv.ts'
import { scoreForecasts } from '../../core/forecast/scoreForecasts.ts'
import { selectBackend } from '../../core/forecast/selectBackend.ts'
import { toRegularSeries } from '../../core/forecast/toRegularSeries.ts'
import { trainLoadModel } from '../../core/forecast/trainLoadModel.ts'

const tz = 'Australia/Melbourne'
const folds = (process.env.FOLDS ?? '1,3,10').split(',').map(Number)
const seeds = (process.env.SEEDS ?? '7,8,9').split(',').map(Number)
const { series } = toRegularSeries(readLoadCsv({ file: 'models/data/vic-elec-2012-2014.csv', temperatureColumn: false, timeZone: tz }))
await selectBackend('wasm')
const origins = crossValidationOrigins(series, tz, 3, 180)
const context = createFeatureContext(series, tz, 96, false)
const spd = context.slotsPerDay
const horizon = spd
for (const fold of folds) {
  const { start, end } = origins[fold - 1]!
  const midnights = localMidnights(context, start, end)
  const issue = new Int32Array(midnights.length * horizon)
  const lead = new Int32Array(midnights.length * horizon)
  const actual = new Float64Array(midnights.length * horizon)
  midnights.forEach((m, i) => {
    for (let k = 0; k < horizon; k++) {
      issue[i * horizon + k] = m
      lead[i * horizon + k] = k + 1
      actual[i * horizon + k] = m + k < end ? (series.loadKw[m + k] ?? Number.NaN) : Number.NaN
    }
  })
  const predictions: Float64Array[] = []
  for (const seed of seeds) {
    const trained = await trainLoadModel({ series, timeZone: tz, source: 'vic', endIndex: start, epochs: 6, maxSamples: 40_000, withTemperature: false, seed })
    const model = await modelFromArtifacts(trained.artifacts)
    predictions.push(predictLoad(model, trained.metadata, context, { issue, lead }))
    model.dispose()
  }
  const y = series.loadKw.subarray(0, end)
  const hw = forecastHoltWinters(y, spd, fitHoltWinters(y, spd, start), Math.max(0, start - 20 * 7 * spd), Int32Array.from(midnights), horizon)
  const mean = Float64Array.from(actual, (_, i) => predictions.reduce((s, p) => s + (p[i] ?? 0), 0) / predictions.length)
  const mix = Float64Array.from(mean, (v, i) => 0.8 * v + 0.2 * (hw[i] ?? v))
  const mape = (p: ArrayLike<number>) => scoreForecasts(actual, p).mapePct.toFixed(2)
  console.log(JSON.stringify({ fold, from: new Date(series.startMs + start * series.slotMs).toISOString().slice(0, 10), perSeed: predictions.map(mape), seedMean: mape(mean), seedMeanWithHw20: mape(mix), holtWinters: mape(hw) }))
}
