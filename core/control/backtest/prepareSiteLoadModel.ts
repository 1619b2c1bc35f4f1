import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type * as tf from '@tensorflow/tfjs'
import type { LoadModelMetadata } from '../../forecast/loadModelMetadata.ts'
import { readLoadCsv } from '../../forecast/readLoadCsv.ts'
import { readLoadModel } from '../../forecast/readLoadModel.ts'
import { saveLoadModel } from '../../forecast/saveLoadModel.ts'
import { selectBackend } from '../../forecast/selectBackend.ts'
import { toRegularSeries } from '../../forecast/toRegularSeries.ts'
import { trainInWorker } from '../../forecast/trainInWorker.ts'
import { BacktestError } from './BacktestError.ts'

export type PrepareSiteLoadModelParameters = {
  /** The site's past load as a CSV (timestamp and load columns, as `gridmesh forecast train` reads). */
  historyFile: string
  /** Rows at or after this instant are dropped before training: the model never sees the backtested days. */
  cutoffMs: number
  timeZone: string
  /** Where trained models are kept, keyed by (file hash, cutoff); default: the OS temp directory. */
  cacheDir?: string | undefined
  onProgress?: ((message: string) => void) | undefined
}

export type PreparedSiteLoadModel = {
  model: tf.LayersModel
  metadata: LoadModelMetadata
  dir: string
  cached: boolean
  trainingWallTimeS: number
  /** The CSV's holiday flags for days before the cutoff (later days count as ordinary). */
  holidays: ((utcMs: number) => boolean) | undefined
}

/** A load model trained (in a worker) only on the site's history before the cutoff, reused from the cache when the same file and cutoff were trained before. */
export async function prepareSiteLoadModel(parameters: PrepareSiteLoadModelParameters): Promise<PreparedSiteLoadModel> {
  const { historyFile, cutoffMs } = parameters
  let bytes: Buffer
  try {
    bytes = readFileSync(historyFile)
  } catch (cause) {
    throw new BacktestError(`--history: ${historyFile}: cannot read the file: ${(cause as Error).message}`, { cause })
  }
  const hash = createHash('sha256').update(bytes).digest('hex').slice(0, 16)
  const cacheRoot = parameters.cacheDir ?? join(tmpdir(), 'gridmesh-backtest-models')
  const dir = join(cacheRoot, `${hash}-${new Date(cutoffMs).toISOString().replace(/[:.]/g, '-')}`)
  const csv = readLoadCsv({ file: historyFile, text: bytes.toString('utf8'), temperatureColumn: false })
  // Drop every row at or after the cutoff before anything else looks at the data.
  const keep = csv.timesMs.findIndex((t) => t >= cutoffMs)
  const n = keep < 0 ? csv.timesMs.length : keep
  const past = {
    ...csv,
    timesMs: csv.timesMs.slice(0, n),
    loadKw: csv.loadKw.slice(0, n),
    temperatureC: undefined,
    holiday: csv.holiday?.slice(0, n),
    rows: csv.rows.slice(0, n),
    missingLoadRows: csv.missingLoadRows.filter((r) => r <= (csv.rows[n - 1] ?? 0)),
  }
  if (n < 2) throw new BacktestError(`--history: ${historyFile}: no rows before ${new Date(cutoffMs).toISOString()}; expected the site's load before the backtest`)
  const holidayDays = new Set<number>()
  if (past.holiday) for (let i = 0; i < n; i++) if (past.holiday[i]) holidayDays.add(localDayOf(past.timesMs[i]!, parameters.timeZone))
  const holidays = past.holiday ? (utcMs: number) => utcMs < cutoffMs && holidayDays.has(localDayOf(utcMs, parameters.timeZone)) : undefined
  const started = performance.now()
  let cached = true
  if (!existsSync(join(dir, 'model.json'))) {
    cached = false
    const { series } = toRegularSeries(past, { slotMs: 1_800_000 })
    parameters.onProgress?.(`backtest: training the load model on ${historyFile} up to ${new Date(series.startMs + series.loadKw.length * series.slotMs).toISOString()} (${(series.loadKw.length / 48).toFixed(0)} days) in a worker`)
    let lastEpoch = 0
    const trained = await trainInWorker({
      series,
      timeZone: parameters.timeZone,
      source: historyFile,
      withTemperature: false,
      onProgress: (p) => {
        if (p.epoch !== lastEpoch) parameters.onProgress?.(`backtest: training epoch ${(lastEpoch = p.epoch)}/${p.epochs}, validation loss ${p.valLoss.toFixed(4)}`)
      },
      onLog: (line) => parameters.onProgress?.(`backtest: ${line}`),
    })
    mkdirSync(cacheRoot, { recursive: true })
    saveLoadModel(dir, trained)
  }
  await selectBackend('auto', (line) => parameters.onProgress?.(`backtest: ${line}`))
  const { model, metadata } = await readLoadModel(dir)
  if (Date.parse(metadata.validation.toIso) > cutoffMs) throw new BacktestError(`${dir}: the cached model saw data up to ${metadata.validation.toIso}, after the cutoff; delete the directory`)
  return { model, metadata, dir, cached, trainingWallTimeS: Math.round((performance.now() - started) / 100) / 10, holidays }
}

const dayFormats = new Map<string, Intl.DateTimeFormat>()
const localDays = new Map<string, number>()

function localDayOf(utcMs: number, timeZone: string): number {
  // Zones change offset on quarter hours at most, so one lookup per UTC quarter hour is exact.
  const key = `${timeZone} ${Math.floor(utcMs / 900_000)}`
  const hit = localDays.get(key)
  if (hit !== undefined) return hit
  let f = dayFormats.get(timeZone)
  if (!f) dayFormats.set(timeZone, (f = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' })))
  const day = Date.parse(`${f.format(Math.floor(utcMs / 900_000) * 900_000)}T00:00:00Z`) / 86_400_000
  localDays.set(key, day)
  return day
}
