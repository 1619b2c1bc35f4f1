// Load-forecast bench: training time on one year of 15-minute data (vic-elec 2014, interpolated from 30 min) with
// the wasm backend and the cpu backend in the same run, and the time of one 48-slot forecast. The target (DESIGN.md):
// training < 60 s with wasm on 2 cores. The last stdout line is the JSON result bench/run.ts collects.
import { fileURLToPath } from 'node:url'
import { loadavg, cpus } from 'node:os'
import * as tf from '@tensorflow/tfjs'
import { createFeatureContext } from '../core/forecast/createFeatureContext.ts'
import { predictLoad } from '../core/forecast/predictLoad.ts'
import { readLoadCsv } from '../core/forecast/readLoadCsv.ts'
import { modelFromArtifacts } from '../core/forecast/modelFromArtifacts.ts'
import { selectBackend, type BackendName } from '../core/forecast/selectBackend.ts'
import { toRegularSeries } from '../core/forecast/toRegularSeries.ts'
import { trainLoadModel } from '../core/forecast/trainLoadModel.ts'

const timeZone = 'Australia/Melbourne'
const csvPath = fileURLToPath(new URL('../models/data/vic-elec-2012-2014.csv', import.meta.url))
const { series: full } = toRegularSeries(readLoadCsv({ file: csvPath }), { slotMs: 900_000 })
const slots = 365 * 96
const from = full.loadKw.length - slots
const series = {
  startMs: full.startMs + from * full.slotMs,
  slotMs: full.slotMs,
  loadKw: full.loadKw.slice(from),
  temperatureC: full.temperatureC?.slice(from),
  holiday: full.holiday?.slice(from),
}

async function measure(backend: BackendName) {
  await selectBackend(backend)
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  const trained = await trainLoadModel({ series, timeZone, source: 'vic-elec 2014 at 15 min', backend, onProgress: (p) => process.stderr.write(`  ${backend} epoch ${p.epoch}/${p.epochs} ${(p.elapsedMs / 1000).toFixed(1)} s\n`) })
  const trainS = (performance.now() - started) / 1000
  const cpu = process.cpuUsage(cpuBefore)
  // CPU seconds this process used: close to the wall time it would take on idle cores, when the machine is shared.
  const trainCpuSeconds = (cpu.user + cpu.system) / 1e6
  const model = await modelFromArtifacts(trained.artifacts)
  const context = createFeatureContext(series, timeZone, trained.metadata.maxLeadSlots)
  const requests = { issue: new Int32Array(48).fill(slots), lead: Int32Array.from({ length: 48 }, (_, k) => k + 1) }
  const times: number[] = []
  for (let i = 0; i < 25; i++) {
    const t0 = performance.now()
    const forecast = predictLoad(model, trained.metadata, context, requests)
    times.push(performance.now() - t0)
    if (!forecast.every(Number.isFinite)) throw new Error(`${backend}: the 48-slot forecast has non-finite values`)
  }
  // The first calls compile kernels; the median of the rest is the steady state a control loop sees.
  const steady = times.slice(5).sort((a, b) => a - b)
  model.dispose()
  return {
    trainS,
    trainCpuSeconds,
    epochs: trained.metadata.training.epochs,
    samples: trained.metadata.training.samples,
    validationDayAheadMapePct: trained.metadata.validation.dayAheadMapePct,
    inferenceMs: steady[Math.floor(steady.length / 2)] ?? Number.NaN,
    firstInferenceMs: times[0] ?? Number.NaN,
  }
}

process.stderr.write(`forecast bench: ${slots} slots of 15 min (${new Date(series.startMs).toISOString()} to ${new Date(series.startMs + slots * series.slotMs).toISOString()})\n`)
const loadAtStart = loadavg()[0] ?? Number.NaN
const wasm = await measure('wasm')
const cpu = await measure('cpu')
const results = {
  slots,
  tfjs: tf.version.tfjs,
  trainWasmS: wasm.trainS,
  trainCpuS: cpu.trainS,
  trainWasmProcessCpuS: wasm.trainCpuSeconds,
  trainCpuProcessCpuS: cpu.trainCpuSeconds,
  epochs: wasm.epochs,
  samples: wasm.samples,
  inference48WasmMs: wasm.inferenceMs,
  inference48CpuMs: cpu.inferenceMs,
  firstInference48WasmMs: wasm.firstInferenceMs,
  validationDayAheadMapePctWasm: wasm.validationDayAheadMapePct,
  validationDayAheadMapePctCpu: cpu.validationDayAheadMapePct,
  // Other work on the machine inflates the times: the 1-minute load average says how much (cores: cpus).
  cpus: cpus().length,
  loadAverageStart: loadAtStart,
  loadAverageEnd: loadavg()[0] ?? Number.NaN,
}
const targets = { trainWasmS: 60 }
const ratios = { trainWasmOverTarget: wasm.trainS / targets.trainWasmS, trainCpuOverWasm: cpu.trainS / wasm.trainS, inferenceCpuOverWasm: cpu.inferenceMs / wasm.inferenceMs }
process.stdout.write(`${JSON.stringify({ bench: 'forecast', results, ratios, targets })}\n`)
