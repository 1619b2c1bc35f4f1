// `gridmesh forecast train | eval | predict | pv`: the load forecast from the command line.
import { existsSync } from 'node:fs'
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { fileURLToPath } from 'node:url'
import { UsageError } from '../errors/BaseError.ts'
import { createFeatureContext } from './createFeatureContext.ts'
import { LoadCsvError } from './errors.ts'
import { evaluateLoadForecast } from './evaluateLoadForecast.ts'
import { crossValidateLoadForecast, type CrossValidationFold } from './crossValidateLoadForecast.ts'
import { testWindowStart } from './testWindowStart.ts'
import { forecastPv } from './forecastPv.ts'
import { predictLoad } from './predictLoad.ts'
import { createCalendar } from './createCalendar.ts'
import type { LoadSeries } from './toRegularSeries.ts'
import { readLoadCsv, type PowerUnit } from './readLoadCsv.ts'
import { modelFromArtifacts } from './modelFromArtifacts.ts'
import { readLoadModel } from './readLoadModel.ts'
import { saveLoadModel } from './saveLoadModel.ts'
import { selectBackend, type BackendPreference } from './selectBackend.ts'
import { toRegularSeries, type ToRegularSeriesResult } from './toRegularSeries.ts'
import { trainInWorker } from './trainInWorker.ts'
import { defaultSeed, minimumTrainingDays, trainLoadModel, type TrainProgress } from './trainLoadModel.ts'

const defaultModelDir = fileURLToPath(new URL('../../models/default', import.meta.url))
const siteModelDir = fileURLToPath(new URL('../../models/site', import.meta.url))

const csvOptions = {
  csv: { type: 'string' },
  'time-column': { type: 'string' },
  'load-column': { type: 'string' },
  'temperature-column': { type: 'string' },
  'holiday-column': { type: 'string' },
  'no-temperature': { type: 'boolean' },
  unit: { type: 'string' },
  timezone: { type: 'string' },
  slot: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const trainOptions = { ...csvOptions, epochs: { type: 'string' }, backend: { type: 'string' }, seed: { type: 'string' } } as const satisfies ParseArgsConfig['options']

const usage = `usage: gridmesh forecast <train | eval | predict | pv> [options]

  train    --csv FILE [--out DIR]             train the load model on a history (default out: models/site)
  eval     --csv FILE --test-days N [--horizon 24h] [--json]
                                              train on all but the last N days, score model and baselines on them
  eval     --csv FILE --cv [--cv-months 3] [--cv-min-train-days 180] [--cv-folds K] [--samples N] [--json]
                                              rolling-origin cross-validation: a fold at each local 1st of every
                                              --cv-months months (quarters by default), trained only on the history
                                              before it and scored day-ahead until the next origin (default per fold:
                                              6 epochs, 40,000 sampled rows, to keep a 10-fold run to minutes)
  predict  --csv FILE [--model DIR] [--horizon 24h] [--holidays YYYY-MM-DD,...] [--json]
                                              next horizon from the end of the history (default model: models/site,
                                              else the shipped models/default); --holidays marks public holidays
                                              ahead (and in a history without a holiday column)
  pv       --lat DEG --lon DEG --tilt DEG --azimuth DEG --peak-kw KW [--csv FILE --pv-column C] [--from ISO]
           [--horizon 48h] [--slot 15m] [--json]
                                              clear-sky PV forecast, scaled by recent production when given

CSV options: --time-column C --load-column C --unit W|kW|MW --timezone IANA (calendar features; default: this
machine's zone) --slot 15m|30m|60m --temperature-column C --holiday-column C --no-temperature
Training options: --epochs N --backend auto|tensorflow|wasm|cpu --seed N (sampling, initial weights and
epoch order; default 7: the same file and seed give the same model and figures)
`

function parse<T extends ParseArgsConfig['options']>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(`${(error as Error).message.split('\n')[0]}`, { metaMessages: [usage] })
  }
}

function parseDuration(flag: string, text: string | undefined, fallbackMs: number): number {
  if (text === undefined) return fallbackMs
  const match = /^(\d+(?:\.\d+)?)\s*(m|min|h|d)$/.exec(text.trim())
  if (!match) throw new UsageError(`${flag}: cannot read '${text}'; expected a duration such as 15m, 24h or 2d`)
  const factor = match[2] === 'd' ? 86_400_000 : match[2] === 'h' ? 3_600_000 : 60_000
  return Number(match[1]) * factor
}

function parseInteger(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback
  const value = Number(text)
  if (!Number.isInteger(value) || value < min || value > max) throw new UsageError(`${flag}: expected an integer ${min}-${max}, got '${text}'`)
  return value
}

function timeZoneOf(values: { timezone?: string | undefined }, fallback?: string): string {
  return values.timezone ?? fallback ?? Intl.DateTimeFormat().resolvedOptions().timeZone
}

type CsvValues = { [K in keyof typeof csvOptions]?: (typeof csvOptions)[K]['type'] extends 'boolean' ? boolean : string }

function loadHistory(values: CsvValues, timeZone: string, slotMs?: number): ToRegularSeriesResult & { file: string; lastRow: number; firstRow: number } {
  if (!values.csv) throw new UsageError('--csv FILE is required', { metaMessages: [usage] })
  const unit = values.unit
  if (unit !== undefined && unit !== 'W' && unit !== 'kW' && unit !== 'MW') throw new UsageError(`--unit: expected W, kW or MW, got '${unit}'`)
  const csv = readLoadCsv({
    file: values.csv,
    timeColumn: values['time-column'],
    loadColumn: values['load-column'],
    temperatureColumn: values['no-temperature'] ? false : values['temperature-column'],
    holidayColumn: values['holiday-column'],
    unit: unit as PowerUnit | undefined,
    timeZone,
  })
  for (const note of csv.notes) process.stderr.write(`forecast: ${values.csv}: ${note}\n`)
  const result = toRegularSeries(csv, { slotMs: slotMs ?? (values.slot ? parseDuration('--slot', values.slot, 0) : undefined) })
  const { report } = result
  const gapText = report.gaps.length ? `; ${report.gaps.length} gap(s): ${report.filledSlots} slot(s) interpolated, ${report.unfilledSlots} left out` : ''
  const duplicateText = report.duplicates ? `; ${report.duplicates} duplicate timestamp(s) averaged (rows ${report.duplicateRows.slice(0, 5).join(', ')}${report.duplicates > 5 ? ', ...' : ''})` : ''
  const missingRows = csv.missingLoadRows
  const missingText = report.missingValues ? `; ${report.missingValues} empty/NaN load value(s) (row${missingRows.length > 1 ? 's' : ''} ${missingRows.slice(0, 5).join(', ')}${missingRows.length > 5 ? ', ...' : ''})` : ''
  process.stderr.write(`forecast: ${values.csv}: ${report.rows} rows, ${report.nativeSlotMs / 60_000}-min data used at ${report.slotMs / 60_000}-min slots${missingText}${duplicateText}${gapText}\n`)
  for (const gap of report.gaps.filter((g) => !g.filled).slice(0, 5)) process.stderr.write(`forecast:   gap ${new Date(gap.fromMs).toISOString()} to ${new Date(gap.toMs).toISOString()} (${gap.slots} slots, not filled)\n`)
  return { ...result, file: values.csv, firstRow: csv.rows[0] ?? 2, lastRow: csv.rows[csv.rows.length - 1] ?? 2 }
}

function assertLongEnough(history: ReturnType<typeof loadHistory>, days: number, why: string): void {
  const { series } = history
  const have = (series.loadKw.length * series.slotMs) / 86_400_000
  if (have < days) {
    throw new LoadCsvError({
      file: history.file,
      row: history.lastRow,
      problem: `too short: rows ${history.firstRow}-${history.lastRow} cover ${have.toFixed(1)} days (${new Date(series.startMs).toISOString()} to ${new Date(series.startMs + series.loadKw.length * series.slotMs).toISOString()})`,
      expected: `at least ${days} days ${why}`,
    })
  }
}

function createProgressBar(): (progress: TrainProgress) => void {
  const tty = process.stderr.isTTY
  return (p) => {
    const width = 24
    const done = Math.round((p.epoch / p.epochs) * width)
    const line = `training [${'#'.repeat(done)}${'-'.repeat(width - done)}] epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val ${p.valLoss.toFixed(4)} ${(p.elapsedMs / 1000).toFixed(0)}s`
    process.stderr.write(tty ? `\r${line}${p.epoch === p.epochs ? '\n' : ''}` : `${line}\n`)
  }
}

function seedOf(text: string | undefined): number {
  const seed = parseInteger('--seed', text, defaultSeed, 0, 2 ** 31 - 1)
  process.stderr.write(`forecast: seed ${seed}\n`)
  return seed
}

function backendOf(text: string | undefined): BackendPreference {
  const value = text ?? 'auto'
  if (value !== 'auto' && value !== 'tensorflow' && value !== 'wasm' && value !== 'cpu') throw new UsageError(`--backend: expected auto, tensorflow, wasm or cpu, got '${value}'`)
  return value
}

async function train(argv: string[]): Promise<number> {
  const values = parse(argv, { ...trainOptions, out: { type: 'string' } })
  if (values.help) return help()
  const timeZone = timeZoneOf(values)
  const history = loadHistory(values, timeZone)
  assertLongEnough(history, minimumTrainingDays, 'to train (8 for the lags, the rest to learn from)')
  const out = values.out ?? siteModelDir
  const trained = await trainInWorker({
    series: history.series,
    timeZone,
    source: history.file,
    epochs: values.epochs === undefined ? undefined : parseInteger('--epochs', values.epochs, 12, 1, 1000),
    withTemperature: values['no-temperature'] ? false : undefined,
    backend: backendOf(values.backend),
    seed: seedOf(values.seed),
    onProgress: createProgressBar(),
  })
  saveLoadModel(out, trained)
  const v = trained.metadata.validation
  process.stderr.write(
    `forecast: saved ${out} (${(trained.metadata.training.durationMs / 1000).toFixed(1)} s on ${trained.metadata.training.backend}); validation ${v.fromIso.slice(0, 10)} to ${v.toIso.slice(0, 10)}: day-ahead MAPE ${v.dayAheadMapePct.toFixed(2)} % (seasonal naive: yesterday ${v.seasonalNaiveDayMapePct.toFixed(2)} %, last week ${v.seasonalNaiveWeekMapePct.toFixed(2)} %)\n`,
  )
  const bestNaive = Math.min(v.seasonalNaiveDayMapePct, v.seasonalNaiveWeekMapePct)
  if (!(v.dayAheadMapePct < bestNaive)) {
    process.stderr.write(`forecast: warning: the model is not better than seasonal naive on the validation days (${v.dayAheadMapePct.toFixed(2)} % vs ${bestNaive.toFixed(2)} %); more history or epochs may help\n`)
  }
  return 0
}

async function evaluate(argv: string[]): Promise<number> {
  const values = parse(argv, {
    ...trainOptions,
    'test-days': { type: 'string' },
    horizon: { type: 'string' },
    json: { type: 'boolean' },
    cv: { type: 'boolean' },
    'cv-months': { type: 'string' },
    'cv-min-train-days': { type: 'string' },
    'cv-folds': { type: 'string' },
    samples: { type: 'string' },
  })
  if (values.help) return help()
  if (values.cv) return crossValidate(values)
  if (values['test-days'] === undefined) throw new UsageError('--test-days N is required', { metaMessages: [usage] })
  const testDays = parseInteger('--test-days', values['test-days'], 0, 1, 3650)
  const timeZone = timeZoneOf(values)
  const history = loadHistory(values, timeZone)
  assertLongEnough(history, minimumTrainingDays + testDays + 1, `for ${testDays} test days plus ${minimumTrainingDays} training days`)
  const { series } = history
  const horizonSlots = Math.round(parseDuration('--horizon', values.horizon, 86_400_000) / series.slotMs)
  const maxLead = 2 * Math.round(86_400_000 / series.slotMs)
  if (horizonSlots < 1 || horizonSlots > maxLead) throw new UsageError(`--horizon: expected 1 slot to 48h, got '${values.horizon}'`)
  const context = createFeatureContext(series, timeZone, maxLead, values['no-temperature'] ? false : undefined)
  const testStart = testWindowStart(context, testDays)
  if (testStart < 0) throw new UsageError(`--test-days: ${testDays} is more complete local days than the history has`)
  const trained = await trainInWorker({
    series,
    timeZone,
    source: history.file,
    endIndex: testStart,
    epochs: values.epochs === undefined ? undefined : parseInteger('--epochs', values.epochs, 12, 1, 1000),
    withTemperature: context.withTemperature,
    backend: backendOf(values.backend),
    seed: seedOf(values.seed),
    onProgress: createProgressBar(),
  })
  // Scoring runs here in the main thread; the worker that trained has exited.
  await selectBackend('auto', () => undefined)
  const model = await modelFromArtifacts(trained.artifacts)
  const result = evaluateLoadForecast({ context, model, metadata: trained.metadata, testStart, horizonSlots })
  const report = { command: 'forecast eval', csv: history.file, training: { ...trained.metadata.training, validation: trained.metadata.validation }, ...result }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    return 0
  }
  const line = (name: string, s: { mapePct: number; maeKw: number; rmseKw: number }) => `  ${name.padEnd(18)} MAPE ${s.mapePct.toFixed(2).padStart(6)} %   MAE ${s.maeKw.toFixed(1).padStart(10)} kW   RMSE ${s.rmseKw.toFixed(1).padStart(10)} kW`
  process.stdout.write(`test window ${result.testWindow.fromIso} to ${result.testWindow.toIso} (${result.testWindow.days} days, ${timeZone})\nday-ahead from local midnight, ${horizonSlots} slots:\n`)
  for (const [name, score] of Object.entries(result.dayAhead.overall)) process.stdout.write(`${line(name, score)}\n`)
  process.stdout.write('rolling one slot ahead:\n')
  for (const [name, score] of Object.entries(result.rollingOneStep.overall)) process.stdout.write(`${line(name, score)}\n`)
  for (const q of [result.quantiles, result.quantilesFromTraining]) {
    if (!q) continue
    process.stdout.write(`P10-P90 coverage ${q.coveragePct.toFixed(1)} % (below P10 ${q.belowLowPct.toFixed(1)} %, above P90 ${q.aboveHighPct.toFixed(1)} %, mean width ${q.meanWidthPct.toFixed(1)} % of load; target ${q.targetCoveragePct[0]}-${q.targetCoveragePct[1]} %: ${q.targetMet ? 'met' : 'not met'}), band from ${q.source}\n`)
  }
  process.stdout.write(
    `day-ahead MAPE ${result.summary.dayAheadMapeReductionPct.toFixed(1)} % lower than ${result.summary.betterSeasonalNaive}, ${result.summary.beatsHoltWinters ? 'below' : 'not below'} Holt-Winters (target ${result.summary.targetReductionPct} % and below Holt-Winters: ${result.summary.targetMet ? 'met' : 'not met'})\n`,
  )
  return 0
}

type EvalValues = { [key: string]: string | boolean | undefined }

async function crossValidate(values: EvalValues): Promise<number> {
  const text = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined)
  if (values['test-days'] !== undefined) throw new UsageError('--cv and --test-days exclude each other: --cv picks its own test windows (one per fold)')
  const timeZone = timeZoneOf({ timezone: text('timezone') })
  const history = loadHistory(values as CsvValues, timeZone)
  const foldMonths = parseInteger('--cv-months', text('cv-months'), 3, 1, 12)
  if (12 % foldMonths !== 0) throw new UsageError(`--cv-months: expected 1, 2, 3, 4, 6 or 12 (a divisor of a year), got '${foldMonths}'`)
  const minimumDays = parseInteger('--cv-min-train-days', text('cv-min-train-days'), 180, minimumTrainingDays + 7, 3650)
  const maxFolds = text('cv-folds') === undefined ? undefined : parseInteger('--cv-folds', text('cv-folds'), 1, 1, 1000)
  assertLongEnough(history, minimumDays + 7, `for cross-validation (${minimumDays} days before the first fold, 7 to test)`)
  const { series } = history
  const horizonSlots = Math.round(parseDuration('--horizon', text('horizon'), 86_400_000) / series.slotMs)
  const maxLead = 2 * Math.round(86_400_000 / series.slotMs)
  if (horizonSlots < 1 || horizonSlots > maxLead) throw new UsageError(`--horizon: expected 1 slot to 48h, got '${text('horizon')}'`)
  const epochs = parseInteger('--epochs', text('epochs'), 6, 1, 1000)
  const maxSamples = parseInteger('--samples', text('samples'), 40_000, 1000, 10_000_000)
  const seed = seedOf(text('seed'))
  // Folds train one after another in this process (the CLI has no control loop to keep responsive).
  const backend = await selectBackend(backendOf(text('backend')))
  const started = Date.now()
  const result = await crossValidateLoadForecast({
    series,
    timeZone,
    source: history.file,
    foldMonths,
    minimumTrainingDays: minimumDays,
    maxFolds,
    horizonSlots,
    withTemperature: values['no-temperature'] ? false : undefined,
    epochs,
    maxSamples,
    seed,
    train: (p) => trainLoadModel({ ...p, backend }),
    onFold: (f, i, count) => process.stderr.write(`forecast: fold ${i + 1}/${count} ${f.test.fromIso.slice(0, 10)}: model ${f.dayAhead.model.mapePct.toFixed(2)} %, ${f.betterSeasonalNaive} ${f.dayAhead[f.betterSeasonalNaive].mapePct.toFixed(2)} %, Holt-Winters ${f.dayAhead.holtWinters.mapePct.toFixed(2)} % (${((Date.now() - started) / 1000).toFixed(0)} s)\n`),
  })
  const report = { command: 'forecast eval --cv', csv: history.file, backend, durationMs: Date.now() - started, ...result }
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`)
    return 0
  }
  process.stdout.write(formatCrossValidation(result.folds))
  const s = result.summary
  process.stdout.write(
    `${s.foldsMet} of ${s.folds} folds meet the target (day-ahead MAPE >= ${s.targetReductionPct} % below the better seasonal naive and below Holt-Winters); worst reduction ${s.worstReductionPct.toFixed(1)} %; below Holt-Winters in ${s.foldsBeatingHoltWinters}; P10-P90 coverage in ${s.targetCoveragePct[0]}-${s.targetCoveragePct[1]} % in ${s.foldsCoverageMet}; ${epochs} epochs, ${maxSamples} rows per fold, seed ${seed}, ${backend}, ${((Date.now() - started) / 1000).toFixed(0)} s\n`,
  )
  return 0
}

/** One row per fold: MAPE and RMSE of the model and each baseline, the reduction and the band's coverage. */
function formatCrossValidation(folds: CrossValidationFold[]): string {
  const head = '| fold | test from | days | model MAPE / RMSE | naive day | naive week | Holt-Winters | better naive | reduction | P10-P90 coverage (rolling / training) | met |'
  const rows = folds.map((f) => {
    const cell = (m: keyof CrossValidationFold['dayAhead']) => `${f.dayAhead[m].mapePct.toFixed(2)} % / ${f.dayAhead[m].rmseKw.toFixed(0)}`
    return `| ${f.fold} | ${f.test.fromIso.slice(0, 10)} | ${f.test.days} | ${cell('model')} | ${cell('seasonalNaiveDay')} | ${cell('seasonalNaiveWeek')} | ${cell('holtWinters')} | ${f.betterSeasonalNaive === 'seasonalNaiveDay' ? 'day' : 'week'} | ${f.dayAheadMapeReductionPct.toFixed(1)} % | ${f.quantiles ? `${f.quantiles.coveragePct.toFixed(1)} %` : '-'} / ${f.quantilesFromTraining ? `${f.quantilesFromTraining.coveragePct.toFixed(1)} %` : '-'} | ${f.targetMet ? 'yes' : 'no'} |`
  })
  return `${[head, `|${' --- |'.repeat(11)}`, ...rows].join('\n')}\n(RMSE in kW)\n`
}

async function predict(argv: string[]): Promise<number> {
  const values = parse(argv, { ...csvOptions, model: { type: 'string' }, horizon: { type: 'string' }, holidays: { type: 'string' }, json: { type: 'boolean' } })
  if (values.help) return help()
  const holidayDates = parseHolidays(values.holidays)
  const dir = values.model ?? (existsSync(siteModelDir) ? siteModelDir : defaultModelDir)
  await selectBackend('auto')
  const { model, metadata } = await readLoadModel(dir)
  const timeZone = timeZoneOf(values, metadata.timeZone)
  const history = loadHistory(values, timeZone, metadata.slotMs)
  assertLongEnough(history, 8, 'of history for the lag features (the last 8 days are used)')
  const series = withHolidays(history.series, timeZone, metadata.maxLeadSlots, holidayDates)
  if (metadata.features.withTemperature && !series.temperatureC) {
    throw new LoadCsvError({ file: history.file, row: 1, problem: `the model in ${dir} uses temperature but the CSV has no temperature column`, expected: '--temperature-column naming one, or a model trained with --no-temperature' })
  }
  const horizonSlots = Math.round(parseDuration('--horizon', values.horizon, 86_400_000) / series.slotMs)
  if (horizonSlots < 1 || horizonSlots > metadata.maxLeadSlots) throw new UsageError(`--horizon: expected 1 slot to ${(metadata.maxLeadSlots * series.slotMs) / 3_600_000}h, got '${values.horizon}'`)
  const context = createFeatureContext(series, timeZone, metadata.maxLeadSlots, metadata.features.withTemperature)
  const issue = series.loadKw.length
  const loadKw = predictLoad(model, metadata, context, { issue: new Int32Array(horizonSlots).fill(issue), lead: Int32Array.from({ length: horizonSlots }, (_, k) => k + 1) })
  const points = Array.from(loadKw, (value, k) => ({ time: new Date(series.startMs + (issue + k) * series.slotMs).toISOString(), loadKw: Math.round(value * 1000) / 1000 }))
  if (points.some((p) => !Number.isFinite(p.loadKw))) {
    throw new LoadCsvError({ file: history.file, row: history.lastRow, problem: 'the last 8 days of history have gaps where the forecast needs values', expected: 'a history whose last week is (mostly) complete' })
  }
  const output = { model: dir, issuedAt: new Date(series.startMs + issue * series.slotMs).toISOString(), slotMinutes: series.slotMs / 60_000, timeZone, validationDayAheadMapePct: metadata.validation.dayAheadMapePct, forecast: points }
  if (values.json) process.stdout.write(`${JSON.stringify(output)}\n`)
  else for (const p of points) process.stdout.write(`${p.time}  ${p.loadKw.toFixed(1)} kW\n`)
  return 0
}

/** `--holidays 2026-12-25,2026-12-26`: local dates, checked one by one. */
function parseHolidays(text: string | undefined): Set<string> {
  const dates = new Set<string>()
  if (text === undefined) return dates
  for (const item of text.split(',').map((d) => d.trim())) {
    const ok = /^\d{4}-\d{2}-\d{2}$/.test(item) && new Date(`${item}T00:00:00Z`).toISOString().startsWith(item)
    if (!ok) throw new UsageError(`--holidays: '${item}' is not a date; expected local dates YYYY-MM-DD separated by commas`)
    dates.add(item)
  }
  return dates
}

/** The history's holiday flags, extended over the forecast horizon so a holiday ahead is forecast as one. */
function withHolidays(series: LoadSeries, timeZone: string, leadSlots: number, dates: Set<string>): LoadSeries {
  if (dates.size === 0) return series
  const count = series.loadKw.length + leadSlots + 1
  const grid = createCalendar(timeZone).describeGrid(series.startMs, series.slotMs, count)
  const holiday = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const local = new Date((grid.localDay[i] ?? 0) * 86_400_000).toISOString().slice(0, 10)
    holiday[i] = (series.holiday?.[i] ?? 0) || (dates.has(local) ? 1 : 0)
  }
  return { ...series, holiday }
}

async function pv(argv: string[]): Promise<number> {
  const values = parse(argv, {
    lat: { type: 'string' },
    lon: { type: 'string' },
    tilt: { type: 'string' },
    azimuth: { type: 'string' },
    'peak-kw': { type: 'string' },
    csv: { type: 'string' },
    'time-column': { type: 'string' },
    'pv-column': { type: 'string' },
    unit: { type: 'string' },
    from: { type: 'string' },
    horizon: { type: 'string' },
    slot: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return help()
  const number = (flag: string, text: string | undefined, min: number, max: number): number => {
    const value = Number(text)
    if (text === undefined || !Number.isFinite(value) || value < min || value > max) throw new UsageError(`--${flag}: expected a number ${min} to ${max}, got '${text ?? ''}'`)
    return value
  }
  const site = {
    latitudeDeg: number('lat', values.lat, -90, 90),
    longitudeDeg: number('lon', values.lon, -180, 180),
    tiltDeg: number('tilt', values.tilt, 0, 90),
    azimuthDeg: number('azimuth', values.azimuth, 0, 360),
    peakPowerKw: number('peak-kw', values['peak-kw'], 0, 1e6),
  }
  const slotMs = parseDuration('--slot', values.slot, 900_000)
  const horizonMs = parseDuration('--horizon', values.horizon, 2 * 86_400_000)
  let history: { timesMs: Float64Array; powerKw: Float64Array } | undefined
  if (values.csv) {
    const unit = values.unit
    if (unit !== undefined && unit !== 'W' && unit !== 'kW' && unit !== 'MW') throw new UsageError(`--unit: expected W, kW or MW, got '${unit}'`)
    const csv = readLoadCsv({ file: values.csv, timeColumn: values['time-column'], loadColumn: values['pv-column'], temperatureColumn: false, holidayColumn: false, unit: unit as PowerUnit | undefined })
    history = { timesMs: csv.timesMs, powerKw: csv.loadKw }
  }
  const fromText = values.from
  const fromMs = fromText === undefined ? Math.ceil((history ? (history.timesMs[history.timesMs.length - 1] ?? Date.now()) + 1 : Date.now()) / slotMs) * slotMs : Date.parse(fromText)
  if (!Number.isFinite(fromMs)) throw new UsageError(`--from: cannot read '${fromText}' as a time; expected ISO 8601 such as 2024-06-01T00:00:00Z`)
  const result = forecastPv({ site, fromMs, slotMs, slots: Math.round(horizonMs / slotMs), history })
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    process.stdout.write(`scale ${result.scale.toFixed(3)} (${result.scaleSource})\n`)
    for (const p of result.forecast) process.stdout.write(`${p.time}  ${p.powerKw.toFixed(3)} kW\n`)
  }
  return 0
}

function help(): number {
  process.stdout.write(usage)
  return 0
}

/** Entry point for `gridmesh forecast ...`; returns the exit code (2 for usage errors). */
export async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  try {
    switch (command) {
      case 'train':
        return await train(rest)
      case 'eval':
        return await evaluate(rest)
      case 'predict':
        return await predict(rest)
      case 'pv':
        return await pv(rest)
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        process.stdout.write(usage)
        return command === undefined ? 2 : 0
      default:
        throw new UsageError(`unknown forecast command '${command}'; expected train, eval, predict or pv`, { metaMessages: [usage] })
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`gridmesh forecast: ${error.message}\n`)
      return 2
    }
    throw error
  }
}
