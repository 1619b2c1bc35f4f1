import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseFlags, parseIntegerFlag, parseIntegerList } from '../../cli/parseFlags.ts'
import { parseYamlText } from '../../devices/site/parseYamlText.ts'
import { UsageError } from '../../errors/BaseError.ts'
import { BacktestError } from './BacktestError.ts'
import { parseBacktestWindows, type BacktestWindow } from './parseBacktestWindows.ts'
import { prepareSiteLoadModel } from './prepareSiteLoadModel.ts'
import { renderBacktestHtml } from './renderBacktestHtml.ts'
import { runBacktest, type BacktestOptions } from './runBacktest.ts'
import { runBacktestWindows, type BacktestWindowsResult } from './runBacktestWindows.ts'

const help = `usage: gridmesh backtest [--site FILE] --from DATE --days N [--speed max] [--cycle-s N] [--seed N] [--json] [--report FILE.html]
       gridmesh backtest [--site FILE] (--windows FILE.json | --from DATE [--from DATE ...] --days N) [--seeds 1,2,3] [--parallel N] [--json]
                         [--load-forecast model|seasonal-naive] [--history FILE.csv | --model DIR] [--history-days N]
                         [--pv-forecast persistence|clear-sky-scaled] [--pv-persistence-h N] [--pv-quantile Q]
                         [--horizon-slots N] [--end-soc-pct N|none] [--export-tie-break EUR]
                         [--weather sim|none] [--weather-issues-h N] [--load-headroom p90|none] [--pv-plan-quantile Q] [--oracle load|pv|load,pv]

Runs the real controller (forecast, MILP plan every 15 minutes, control loop) against
the hardware simulator under a virtual clock, and in the same run two references:
rule-based self-consumption (no plan) and a plan with perfect foresight. Prints cost,
import/export energy, peak, self-consumption, battery cycles and limit violations.

  --site FILE      a simulator site file (default: the bundled demo site)
  --from DATE      first day, ISO 8601 (e.g. 2013-01-14T13:00:00Z = midnight in Melbourne)
  --days N         days to measure (a day of self-consumption before them warms up the forecast)
  --speed max      run as fast as possible (the only speed; accepted for clarity)
  --cycle-s N      control cycle in simulated seconds (default 30; must divide 900)
  --seed N         cloud seed of the simulator (default 1)
  --json           print the result as JSON (with every slot)
  --report FILE    write an HTML report with plots

Several windows (a distribution instead of one figure): each (window, seed) is one backtest
in a child process; prints each run and the median, mean, best and worst of the gap to
perfect foresight and the saving against self-consumption, and the limit violations.
  --windows FILE   a JSON list of windows: [{ "from": DATE, "days": N, "seeds": [1, 2] }, ...]
                   (seeds optional), or { "seeds": [...], "windows": [...] }
  --from DATE      repeated: one window of --days days from each
  --seeds LIST     seeds of every window without its own, e.g. 1,2,3 or 1-3 (default 1)
  --parallel N     runs at once (default 1; each takes about one core)
  --model-cutoff DATE  train the load model on the history before DATE instead of --from
                   (at or before it); with several windows the default is the earliest window's
                   start, so one model serves all of them and sees none of them

The controller's load forecast (createSiteLoadForecaster):
  --load-forecast model|seasonal-naive
                   model (default): a TF.js load model, fed the site's own measured load;
                   seasonal-naive: the same slot yesterday
  --history FILE   the site's past load as a CSV (timestamp and load columns): the model is
                   trained in a worker on its rows before --from only, and cached under the
                   OS temp directory by (file hash, --from). Default for the bundled demo
                   site: models/data/vic-elec-2012-2014.csv, the demand its load follows
  --model DIR      a trained model instead (refused if it saw data from the backtested days)
  --history-days N days of measured site history before the warm-up day, read from the
                   simulator by a fast pass over Modbus (default 7 with the model: with the
                   warm-up day, the 7 days + 1 slot its lags need)
  --pv-forecast persistence|clear-sky-scaled
                   persistence (default): clear sky times the last daylight hour's measured
                   clearness, relaxing to the last week's; clear-sky-scaled: clear sky times
                   the last 3 days' measured / clear-sky ratio
  --pv-persistence-h N  how long today's clearness persists (e-folding hours, default 6)
  --pv-quantile Q|mean  beyond today's weather, plan on this quantile (0-1) of the last
                   week's hourly clearness (default 0.67), or on its mean
  --horizon-slots N  planning horizon in 15-minute slots (default 96 = 24 h; up to 192)
  --end-soc-pct N|none  soft SoC goal at the end of each plan's horizon (default 30)
  --export-tie-break EUR  plans see the export price this much lower now, rising to
                   the real price at the horizon's end, so that of two equally cheap plans
                   the one that stores PV surplus first wins (default 0.005; 0 turns it off)
  --weather sim|none  sim (default): PV also from the simulator's weather forecast (its
                   Open-Meteo-shaped endpoint, as a site with control.weather), falling back to
                   the --pv-forecast method without it; none: measured production only
  --weather-issues-h N  with the weather: PV from the mean of the forecasts issued in the N hours
                   before the newest (default serve's 3, siteRuntimeDefaults.weatherIssuesMs; 0: the newest alone)
  --pv-plan-quantile Q  plan PV on this quantile (0.05-0.95) of its forecast band instead of
                   the P50 (default 0.5)
  --load-headroom p90|none  p90: keep SoC headroom against the load forecast's P90 at the
                   peak price, where the forecaster gives quantiles (default none)
  --oracle load|pv|load,pv  diagnostics: plan with the true load and/or PV (the
                   self-consumption run's slots, as perfect foresight does) to measure
                   what forecast errors cost
`

const demo = fileURLToPath(new URL('../../../hardware-sims/sites/demo.yaml', import.meta.url))
const demoHistory = fileURLToPath(new URL('../../../models/data/vic-elec-2012-2014.csv', import.meta.url))

const flagSpec = {
  site: { type: 'string' }, from: { type: 'string', multiple: true }, days: { type: 'string' }, speed: { type: 'string' }, 'cycle-s': { type: 'string' },
  seed: { type: 'string' }, seeds: { type: 'string' }, windows: { type: 'string' }, parallel: { type: 'string' }, 'model-cutoff': { type: 'string' },
  json: { type: 'boolean' }, report: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  'load-forecast': { type: 'string' }, history: { type: 'string' }, model: { type: 'string' }, 'history-days': { type: 'string' },
  'horizon-slots': { type: 'string' }, 'pv-forecast': { type: 'string' }, 'pv-persistence-h': { type: 'string' }, 'export-tie-break': { type: 'string' }, 'pv-quantile': { type: 'string' }, 'end-soc-pct': { type: 'string' }, oracle: { type: 'string' }, 'load-headroom': { type: 'string' }, weather: { type: 'string' }, 'weather-issues-h': { type: 'string' }, 'pv-plan-quantile': { type: 'string' },
} as const
type Flags = ReturnType<typeof parseFlags<typeof flagSpec>>
/** The flags that set up the controller (passed to every run of a multi-window backtest). */
const controllerFlags = ['site', 'cycle-s', 'load-forecast', 'history', 'model', 'history-days', 'horizon-slots', 'pv-forecast', 'pv-persistence-h', 'export-tie-break', 'pv-quantile', 'end-soc-pct', 'load-headroom', 'weather', 'weather-issues-h', 'pv-plan-quantile', 'oracle'] as const

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('backtest', argv, flagSpec, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  const froms = flags.from ?? []
  if (flags.windows !== undefined || froms.length > 1 || flags.seeds !== undefined || flags.parallel !== undefined) return runWindows(flags)
  if (froms.length === 0 || !flags.days) throw new UsageError(`backtest: --from and --days (or --windows FILE) are required\n\n${help}`)
  const fromMs = parseFrom('from', froms[0]!)
  const days = parseIntegerFlag('days', flags.days, 1, 366, 1)
  const modelCutoffMs = flags['model-cutoff'] === undefined ? undefined : parseFrom('model-cutoff', flags['model-cutoff'])
  if (modelCutoffMs !== undefined && modelCutoffMs > fromMs) throw new UsageError(`--model-cutoff: ${flags['model-cutoff']} is after --from ${froms[0]}; the model would see the backtested days`)
  const result = await runBacktest({
    ...controllerOptions(flags),
    fromMs,
    days,
    seed: parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1),
    ...(modelCutoffMs !== undefined && { modelCutoffMs }),
    onProgress: (m) => process.stderr.write(`${m}\n`),
  })
  if (flags.report) {
    const tmp = `${flags.report}.${process.pid}.tmp`
    writeFileSync(tmp, renderBacktestHtml(result))
    renameSync(tmp, flags.report)
    process.stderr.write(`backtest: report written to ${flags.report}\n`)
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`)
  else {
    const lines = result.runs.map((r) => `${r.name.padEnd(18)} cost ${r.metrics.costEur.toFixed(2).padStart(7)} EUR (adjusted ${r.metrics.costAdjustedEur.toFixed(2)})  import ${r.metrics.importKWh} kWh  export ${r.metrics.exportKWh} kWh  peak ${r.metrics.peakImportW} W  self-consumption ${r.metrics.selfConsumptionPct} %  cycles ${r.metrics.cycles}  violations ${r.metrics.violations.soc + r.metrics.violations.rating + r.metrics.violations.envelope}`)
    const c = result.controller
    process.stdout.write(`controller: load ${c.loadForecast}${c.model ? ` (${c.model.dir}, trained on data to ${c.model.trainedToIso})` : ''}, pv ${c.pvForecast}${c.pvPersistenceHours !== null ? ` (${c.pvPersistenceHours} h)` : ''}, horizon ${c.horizonSlots} slots, end SoC ${c.endSocTargetPct ?? 'none'}\n`)
    process.stdout.write(`${lines.join('\n')}\nsaving vs self-consumption ${result.comparison.savingVsSelfConsumptionEur.toFixed(2)} EUR (${result.comparison.savingVsSelfConsumptionPct} %), gap to perfect foresight ${result.comparison.gapToPerfectForesightPct} %, wall time ${result.wallTimeS} s\n`)
  }
  return 0
}

function parseFrom(flag: string, text: string): number {
  const ms = Date.parse(text)
  if (!/^\d{4}-\d\d-\d\d/.test(text) || Number.isNaN(ms)) throw new UsageError(`--${flag}: expected an ISO 8601 date such as 2013-01-14T13:00:00Z, got '${text}'`)
  return ms
}

/** The controller's settings from the flags, checked (everything of a run but its window and seed). */
function controllerOptions(flags: Flags): Omit<BacktestOptions, 'fromMs' | 'days'> {
  if (flags.speed !== undefined && flags.speed !== 'max') throw new UsageError(`--speed: only 'max' is supported (the virtual clock runs as fast as the controller), got '${flags.speed}'`)
  const loadForecast = flags['load-forecast'] ?? 'model'
  if (loadForecast !== 'model' && loadForecast !== 'seasonal-naive') throw new UsageError(`--load-forecast: expected model or seasonal-naive, got '${loadForecast}'`)
  if (flags.history !== undefined && flags.model !== undefined) throw new UsageError('--history and --model: give one (--history trains a model on the CSV before --from; --model uses a trained one)')
  if (flags.history !== undefined && !(existsSync(flags.history) && statSync(flags.history).isFile())) throw new UsageError(`--history: ${flags.history}: no such file; expected the site's past load as a CSV`)
  if (flags.model !== undefined && !existsSync(`${flags.model}/model.json`)) throw new UsageError(`--model: ${flags.model}: no model.json there; expected a directory written by 'gridmesh forecast train'`)
  if (loadForecast === 'seasonal-naive' && (flags.history !== undefined || flags.model !== undefined)) throw new UsageError(`--load-forecast seasonal-naive: --${flags.history !== undefined ? 'history' : 'model'} would go unused`)
  const history = historyOf(flags)
  if (loadForecast === 'model' && history === undefined && flags.model === undefined) throw new UsageError(`--load-forecast model: give --history FILE.csv (the site's past load) or --model DIR, or use --load-forecast seasonal-naive`)
  const pvForecast = flags['pv-forecast'] ?? 'persistence'
  if (pvForecast !== 'persistence' && pvForecast !== 'clear-sky-scaled') throw new UsageError(`--pv-forecast: expected persistence or clear-sky-scaled, got '${pvForecast}'`)
  const oracleParts = flags.oracle?.split(',').map((p) => p.trim())
  if (oracleParts && (oracleParts.length === 0 || oracleParts.some((p) => p !== 'load' && p !== 'pv'))) throw new UsageError(`--oracle: expected load, pv or load,pv, got '${flags.oracle}'`)
  const endSoc = flags['end-soc-pct']
  if (endSoc !== undefined && endSoc !== 'none' && !(/^\d+(\.\d+)?$/.test(endSoc) && Number(endSoc) <= 100)) throw new UsageError(`--end-soc-pct: expected a percentage from 0 to 100 or none, got '${endSoc}'`)
  const tieBreak = flags['export-tie-break']
  if (tieBreak !== undefined && !(/^\d*\.?\d+$/.test(tieBreak) && Number(tieBreak) <= 1)) throw new UsageError(`--export-tie-break: expected EUR/kWh from 0 to 1 such as 0.005, got '${tieBreak}'`)
  const quantile = flags['pv-quantile']
  if (quantile !== undefined && quantile !== 'mean' && !(/^(0(\.\d+)?|1(\.0+)?)$/.test(quantile))) throw new UsageError(`--pv-quantile: expected a number from 0 to 1 such as 0.67, or mean, got '${quantile}'`)
  const headroom = flags['load-headroom']
  if (headroom !== undefined && headroom !== 'p90' && headroom !== 'none') throw new UsageError(`--load-headroom: expected p90 or none, got '${headroom}'`)
  const planQuantile = flags['pv-plan-quantile']
  if (planQuantile !== undefined && !(/^0\.\d+$/.test(planQuantile) && Number(planQuantile) >= 0.05 && Number(planQuantile) <= 0.95)) throw new UsageError(`--pv-plan-quantile: expected a quantile from 0.05 to 0.95 such as 0.6, got '${planQuantile}'`)
  const weather = flags.weather
  if (weather !== undefined && weather !== 'sim' && weather !== 'none') throw new UsageError(`--weather: expected sim (the simulator's weather forecast) or none, got '${weather}'`)
  return {
    siteFile: flags.site ?? demo,
    ...(weather !== undefined && { weather: weather === 'sim' }),
    ...(flags['weather-issues-h'] !== undefined && { weatherIssuesHours: parseIntegerFlag('weather-issues-h', flags['weather-issues-h'], 0, 48, 6) }),
    ...(headroom !== undefined && { loadP90Headroom: headroom === 'p90' }),
    ...(planQuantile !== undefined && { pvPlanQuantile: Number(planQuantile) }),
    cycleS: parseIntegerFlag('cycle-s', flags['cycle-s'], 1, 900, 30),
    horizonSlots: parseIntegerFlag('horizon-slots', flags['horizon-slots'], 4, 192, 96),
    endSocTargetPct: endSoc === undefined ? 30 : endSoc === 'none' ? null : Number(endSoc),
    pvForecast,
    ...(quantile !== undefined && { pvClimatologyQuantile: quantile === 'mean' ? null : Number(quantile) }),
    ...(tieBreak !== undefined && { exportTieBreakEurPerKWh: Number(tieBreak) }),
    ...(flags['pv-persistence-h'] !== undefined && { pvPersistenceHours: parseIntegerFlag('pv-persistence-h', flags['pv-persistence-h'], 1, 1000, 6) }),
    ...(history !== undefined && { historyFile: history }),
    ...(flags.model !== undefined && loadForecast === 'model' && { modelDir: flags.model }),
    ...(flags['history-days'] !== undefined && { historyDays: parseIntegerFlag('history-days', flags['history-days'], 0, 60, 7) }),
    ...(oracleParts && { oracle: { load: oracleParts.includes('load'), pv: oracleParts.includes('pv') } }),
  }
}

/** The CSV the load model trains on: --history, or the demo site's own when neither a site nor a model is given. */
function historyOf(flags: Flags): string | undefined {
  return (flags['load-forecast'] ?? 'model') === 'model' && flags.model === undefined ? (flags.history ?? (flags.site === undefined ? demoHistory : undefined)) : undefined
}

async function runWindows(flags: Flags): Promise<number> {
  const froms = flags.from ?? []
  if (flags.seed !== undefined) throw new UsageError('--seed: with several windows give --seeds LIST (e.g. --seeds 1,2,3)')
  if (flags.report !== undefined) throw new UsageError('--report: the HTML report shows one window; with several windows use --json (every run and the distribution)')
  const seeds = flags.seeds === undefined ? [1] : parseIntegerList('seeds', flags.seeds, 0, 2 ** 31 - 1)
  let windows: BacktestWindow[]
  if (flags.windows !== undefined) {
    if (froms.length > 0 || flags.days !== undefined) throw new UsageError(`--windows ${flags.windows}: give the windows either in the file or as --from/--days, not both`)
    let text: string
    try {
      text = readFileSync(flags.windows, 'utf8')
    } catch (cause) {
      throw new UsageError(`--windows: ${flags.windows}: cannot read the file: ${(cause as Error).message}`)
    }
    try {
      windows = parseBacktestWindows(flags.windows, text, seeds)
    } catch (error) {
      if (error instanceof BacktestError) throw new UsageError(`--windows: ${error.message}`)
      throw error
    }
  } else {
    if (froms.length === 0 || flags.days === undefined) throw new UsageError(`backtest: give --windows FILE, or --from DATE (repeated) and --days N\n\n${help}`)
    const days = parseIntegerFlag('days', flags.days, 1, 366, 1)
    windows = froms.map((from) => ({ fromMs: parseFrom('from', from), days, seeds }))
  }
  const parallel = parseIntegerFlag('parallel', flags.parallel, 1, 16, 1)
  const options = controllerOptions(flags)
  const earliestMs = Math.min(...windows.map((w) => w.fromMs))
  const cutoffMs = flags['model-cutoff'] === undefined ? earliestMs : parseFrom('model-cutoff', flags['model-cutoff'])
  if (cutoffMs > earliestMs) throw new UsageError(`--model-cutoff: ${flags['model-cutoff']} is after the earliest window's start ${new Date(earliestMs).toISOString()}; the model would see backtested days`)
  const progress = (m: string) => process.stderr.write(`${m}\n`)
  const args: string[] = []
  for (const key of controllerFlags) if (flags[key] !== undefined) args.push(`--${key}`, String(flags[key]))
  const history = historyOf(flags)
  if (history !== undefined) {
    // Trained once here, before the runs start: they find it cached instead of each training it.
    let timeZone: string
    try {
      timeZone = (parseYamlText(readFileSync(options.siteFile, 'utf8')) as { location: { timezone: string } }).location.timezone
    } catch (cause) {
      throw new BacktestError(`${options.siteFile}: cannot read the site file: ${(cause as Error).message}`, { cause })
    }
    await prepareSiteLoadModel({ historyFile: history, cutoffMs, timeZone, onProgress: progress })
    args.push('--model-cutoff', new Date(cutoffMs).toISOString())
  }
  progress(`backtest windows: ${windows.length} window(s), ${windows.reduce((n, w) => n + w.seeds.length, 0)} run(s), ${parallel} at a time; flags for every run: ${args.join(' ') || '(defaults)'}`)
  const result = await runBacktestWindows({ windows, args, parallel, onProgress: progress })
  if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`)
  else process.stdout.write(formatWindows(result))
  return 0
}

/** The runs and their distribution as a text table. */
function formatWindows(result: BacktestWindowsResult): string {
  const head = ['from', 'days', 'seed', 'controller EUR', 'self-cons. EUR', 'perfect EUR', 'gap %', 'saving %', 'violations', 'plans']
  const rows = result.runs.map((r) => [r.from.slice(0, 16), String(r.days), String(r.seed), r.costAdjustedEur.controller.toFixed(2), r.costAdjustedEur.selfConsumption.toFixed(2), r.costAdjustedEur.perfectForesight.toFixed(2), r.gapToPerfectForesightPct.toFixed(2), r.savingVsSelfConsumptionPct.toFixed(2), String(r.violations), String(r.plans)])
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cells: string[]) => cells.map((c, i) => (i < 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  const o = result.overall
  return [
    line(head),
    ...rows.map(line),
    '',
    `${o.runs} runs (costs adjusted for the energy left in the battery); flags: ${result.args.join(' ') || '(defaults)'}`,
    `gap to perfect foresight: median ${o.gapToPerfectForesightPct.median} %, mean ${o.gapToPerfectForesightPct.mean} %, best ${o.gapToPerfectForesightPct.best} %, worst ${o.gapToPerfectForesightPct.worst} %`,
    ...(o.gapAtMeanPricePct ? [`  (battery's final energy at the mean import price, as before: median ${o.gapAtMeanPricePct.median} %, worst ${o.gapAtMeanPricePct.worst} %)`] : []),
    `saving vs self-consumption: median ${o.savingVsSelfConsumptionPct.median} %, mean ${o.savingVsSelfConsumptionPct.mean} %, best ${o.savingVsSelfConsumptionPct.best} %, worst ${o.savingVsSelfConsumptionPct.worst} %`,
    `pooled: controller ${o.pooled.controllerEur} EUR, self-consumption ${o.pooled.selfConsumptionEur} EUR, perfect foresight ${o.pooled.perfectForesightEur} EUR: gap ${o.pooled.gapToPerfectForesightPct} %, saving ${o.pooled.savingVsSelfConsumptionPct} %`,
    `limit violations (SoC, rating, envelope; all runs): ${o.violations}; wall time ${result.wallTimeS} s`,
    '',
  ].join('\n')
}
