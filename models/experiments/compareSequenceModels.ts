// Experiment (not shipped): does a 1-D conv or an LSTM over the last two days of load beat the dense net over
// hand-made lag features? Same samples, epochs and dev window (the 8 weeks BEFORE the held-out test window, so
// the test window is never looked at). Run: node bin/run-ts.js models/experiments/compareSequenceModels.ts [dense|conv|lstm ...]
import * as tf from '@tensorflow/tfjs'
import { buildFeatures, featureNames } from '../../core/forecast/buildFeatures.ts'
import { oneHot } from '../../core/forecast/oneHot.ts'
import { createFeatureContext } from '../../core/forecast/createFeatureContext.ts'
import { testWindowStart } from '../../core/forecast/testWindowStart.ts'
import { readLoadCsv } from '../../core/forecast/readLoadCsv.ts'
import { scoreForecasts } from '../../core/forecast/scoreForecasts.ts'
import { selectBackend } from '../../core/forecast/selectBackend.ts'
import { toRegularSeries } from '../../core/forecast/toRegularSeries.ts'
import { localMidnights } from '../../core/forecast/localMidnights.ts'

const timeZone = 'Australia/Melbourne'
const kinds = process.argv.slice(2).length ? process.argv.slice(2) : ['dense', 'conv', 'lstm']
const { series: full } = toRegularSeries(readLoadCsv({ file: 'models/data/vic-elec-2012-2014.csv' }))
const cut = testWindowStart(createFeatureContext(full, timeZone, 0), 56)
const series = { ...full, loadKw: full.loadKw.slice(0, cut), temperatureC: undefined, holiday: full.holiday?.slice(0, cut) }
const context = createFeatureContext(series, timeZone, 96, false)
const spd = context.slotsPerDay
const devStart = testWindowStart(context, 56)
const seqLength = 2 * spd
const epochs = Number(process.env.EPOCHS ?? 12)
const maxSamples = Number(process.env.SAMPLES ?? 80_000)

let seed = 7
const random = () => {
  seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0
  return seed / 4294967296
}
const issues: number[] = []
const leads: number[] = []
const first = 8 * spd + 1
for (let i = first; i < devStart; i++) {
  issues.push(i)
  leads.push(1)
}
for (const m of localMidnights(context, first, devStart))
  for (let k = 1; k <= 2 * spd; k++)
    if (m + k - 1 < devStart) {
      issues.push(m)
      leads.push(k)
    }
for (let i = first; i < devStart; i++) {
  const issue = first + Math.floor(random() * (devStart - first))
  const lead = 1 + Math.floor(random() * 2 * spd)
  if (issue + lead - 1 < devStart) {
    issues.push(issue)
    leads.push(lead)
  }
}
const rows = buildFeatures(context, { issue: Int32Array.from(issues), lead: Int32Array.from(leads) })
let chosen = Array.from({ length: rows.count }, (_, i) => i).filter((r) => rows.usable[r] && Number.isFinite(rows.target[r] ?? Number.NaN))
for (let i = chosen.length - 1; i > 0; i--) {
  const j = Math.floor(random() * (i + 1))
  ;[chosen[i], chosen[j]] = [chosen[j] ?? 0, chosen[i] ?? 0]
}
chosen = chosen.slice(0, maxSamples)
const width = featureNames(false).length

function inputs(rowsIn: typeof rows, index: number[], issueOf: (r: number) => number, withSequence: boolean): tf.Tensor[] {
  const numeric = new Float32Array(index.length * width)
  const sequence = new Float32Array(withSequence ? index.length * seqLength : 0)
  index.forEach((r, i) => {
    for (let f = 0; f < width; f++) numeric[i * width + f] = (rowsIn.numeric[r * width + f] ?? 0) - (f < 6 ? 1 : 0)
    if (withSequence) {
      const issue = issueOf(r)
      const level = rowsIn.levelKw[r] ?? 1
      for (let s = 0; s < seqLength; s++) sequence[i * seqLength + s] = (series.loadKw[issue - seqLength + s] ?? level) / level - 1
    }
  })
  const slot = oneHot(Int32Array.from(index, (r) => rowsIn.slotOfDay[r] ?? 0), spd)
  const weekday = oneHot(Int32Array.from(index, (r) => rowsIn.weekday[r] ?? 0), 7)
  const list: tf.Tensor[] = [tf.tensor2d(numeric, [index.length, width]), tf.tensor2d(slot, [index.length, spd]), tf.tensor2d(weekday, [index.length, 7])]
  if (withSequence) list.push(tf.tensor3d(sequence, [index.length, seqLength, 1]))
  return list
}

function build(kind: string): tf.LayersModel {
  const numeric = tf.input({ shape: [width] })
  const slot = tf.input({ shape: [spd] })
  const weekday = tf.input({ shape: [7] })
  const parts: tf.SymbolicTensor[] = [
    numeric,
    tf.layers.dense({ units: 8, useBias: false }).apply(slot) as tf.SymbolicTensor,
    tf.layers.dense({ units: 3, useBias: false }).apply(weekday) as tf.SymbolicTensor,
  ]
  const modelInputs = [numeric, slot, weekday]
  if (kind !== 'dense') {
    const sequence = tf.input({ shape: [seqLength, 1] })
    modelInputs.push(sequence)
    let encoded: tf.SymbolicTensor
    if (kind === 'conv') {
      let x = tf.layers.conv1d({ filters: 8, kernelSize: 6, strides: 3, activation: 'relu' }).apply(sequence) as tf.SymbolicTensor
      x = tf.layers.conv1d({ filters: 8, kernelSize: 4, strides: 2, activation: 'relu' }).apply(x) as tf.SymbolicTensor
      encoded = tf.layers.flatten().apply(x) as tf.SymbolicTensor
    } else {
      // Two-hourly means keep the LSTM to 24 steps; a 96-step LSTM is far too slow on wasm.
      const pooled = tf.layers.averagePooling1d({ poolSize: 4 }).apply(sequence) as tf.SymbolicTensor
      encoded = tf.layers.lstm({ units: 16 }).apply(pooled) as tf.SymbolicTensor
    }
    parts.push(tf.layers.dense({ units: 16, activation: 'relu' }).apply(encoded) as tf.SymbolicTensor)
  }
  let h = tf.layers.concatenate().apply(parts) as tf.SymbolicTensor
  h = tf.layers.dense({ units: 64, activation: 'relu' }).apply(h) as tf.SymbolicTensor
  h = tf.layers.dense({ units: 32, activation: 'relu' }).apply(h) as tf.SymbolicTensor
  const out = tf.layers.add().apply([tf.layers.dense({ units: 1 }).apply(h) as tf.SymbolicTensor, tf.layers.dense({ units: 1 }).apply(numeric) as tf.SymbolicTensor]) as tf.SymbolicTensor
  return tf.model({ inputs: modelInputs, outputs: out })
}

const midnights = localMidnights(context, devStart, series.loadKw.length)
const devRequests = { issue: Int32Array.from(midnights.flatMap((m) => Array.from({ length: spd }, () => m))), lead: Int32Array.from(midnights.flatMap(() => Array.from({ length: spd }, (_, k) => k + 1))) }
const devRows = buildFeatures(context, devRequests)
const actual = Array.from(devRequests.issue, (m, i) => series.loadKw[m + (devRequests.lead[i] ?? 1) - 1] ?? Number.NaN)
const results: Record<string, unknown> = {}
for (const kind of kinds) {
  // tfjs-backend-wasm 4.22 has no Conv2DBackpropFilter kernel: the conv net can only train on cpu.
  const backend = kind === 'conv' ? 'cpu' : 'wasm'
  await selectBackend(backend)
  const withSequence = kind !== 'dense'
  const x = inputs(rows, chosen, (r) => issues[r] ?? 0, withSequence)
  const y = tf.tensor2d(Float32Array.from(chosen, (r) => (rows.target[r] ?? 1) - 1), [chosen.length, 1])
  const model = build(kind)
  model.compile({ optimizer: tf.train.adam(0.003), loss: 'meanAbsoluteError' })
  const started = Date.now()
  await model.fit(x, y, { epochs, batchSize: 1024, shuffle: true, verbose: 0, callbacks: { onEpochEnd: (e) => void process.stderr.write(`${kind} epoch ${e + 1} ${((Date.now() - started) / 1000).toFixed(0)} s\n`) } })
  const trainS = (Date.now() - started) / 1000
  const devX = inputs(devRows, Array.from({ length: devRows.count }, (_, i) => i), (r) => devRequests.issue[r] ?? 0, withSequence)
  const predicted = (model.predict(devX) as tf.Tensor).dataSync()
  const forecast = Array.from(predicted, (v, i) => (v + 1) * (devRows.levelKw[i] ?? Number.NaN))
  results[kind] = { dayAheadMapePct: scoreForecasts(actual, forecast).mapePct, trainS, backend, params: model.countParams() }
  process.stderr.write(`${kind}: ${JSON.stringify(results[kind])}\n`)
  tf.dispose([...x, y, ...devX])
}
process.stdout.write(`${JSON.stringify({ devWindow: new Date(series.startMs + devStart * series.slotMs).toISOString(), epochs, samples: chosen.length, results })}\n`)
