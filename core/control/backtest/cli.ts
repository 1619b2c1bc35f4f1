import { existsSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseFlags, parseIntegerFlag } from '../../cli/parseFlags.ts'
import { UsageError } from '../../errors/BaseError.ts'
import { renderBacktestHtml } from './renderBacktestHtml.ts'
import { runBacktest } from './runBacktest.ts'

const help = `usage: gridmesh backtest [--site FILE] --from DATE --days N [--speed max] [--cycle-s N] [--seed N] [--json] [--report FILE.html]
                         [--load-forecast model|seasonal-naive] [--history FILE.csv | --model DIR] [--history-days N]
                         [--pv-forecast persistence|clear-sky-scaled] [--pv-persistence-h N] [--pv-quantile Q]
                         [--horizon-slots N] [--end-soc-pct N|none] [--export-tie-break EUR]
                         [--oracle load|pv|load,pv]

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
  --oracle load|pv|load,pv  diagnostics: plan with the true load and/or PV (the
                   self-consumption run's slots, as perfect foresight does) to measure
                   what forecast errors cost
`

const demo = fileURLToPath(new URL('../../../hardware-sims/sites/demo.yaml', import.meta.url))
const demoHistory = fileURLToPath(new URL('../../../models/data/vic-elec-2012-2014.csv', import.meta.url))

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('backtest', argv, {
    site: { type: 'string' }, from: { type: 'string' }, days: { type: 'string' }, speed: { type: 'string' }, 'cycle-s': { type: 'string' },
    seed: { type: 'string' }, json: { type: 'boolean' }, report: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    'load-forecast': { type: 'string' }, history: { type: 'string' }, model: { type: 'string' }, 'history-days': { type: 'string' },
    'horizon-slots': { type: 'string' }, 'pv-forecast': { type: 'string' }, 'pv-persistence-h': { type: 'string' }, 'export-tie-break': { type: 'string' }, 'pv-quantile': { type: 'string' }, 'end-soc-pct': { type: 'string' }, oracle: { type: 'string' },
  }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.from || !flags.days) throw new UsageError(`backtest: --from and --days are required\n\n${help}`)
  const fromMs = Date.parse(flags.from)
  if (!/^\d{4}-\d\d-\d\d/.test(flags.from) || Number.isNaN(fromMs)) throw new UsageError(`--from: expected an ISO 8601 date such as 2013-01-14T13:00:00Z, got '${flags.from}'`)
  if (flags.speed !== undefined && flags.speed !== 'max') throw new UsageError(`--speed: only 'max' is supported (the virtual clock runs as fast as the controller), got '${flags.speed}'`)
  const days = parseIntegerFlag('days', flags.days, 1, 366, 1)
  const loadForecast = flags['load-forecast'] ?? 'model'
  if (loadForecast !== 'model' && loadForecast !== 'seasonal-naive') throw new UsageError(`--load-forecast: expected model or seasonal-naive, got '${loadForecast}'`)
  if (flags.history !== undefined && flags.model !== undefined) throw new UsageError('--history and --model: give one (--history trains a model on the CSV before --from; --model uses a trained one)')
  if (flags.history !== undefined && !(existsSync(flags.history) && statSync(flags.history).isFile())) throw new UsageError(`--history: ${flags.history}: no such file; expected the site's past load as a CSV`)
  if (flags.model !== undefined && !existsSync(`${flags.model}/model.json`)) throw new UsageError(`--model: ${flags.model}: no model.json there; expected a directory written by 'gridmesh forecast train'`)
  if (loadForecast === 'seasonal-naive' && (flags.history !== undefined || flags.model !== undefined)) throw new UsageError(`--load-forecast seasonal-naive: --${flags.history !== undefined ? 'history' : 'model'} would go unused`)
  const history = loadForecast === 'model' && flags.model === undefined ? (flags.history ?? (flags.site === undefined ? demoHistory : undefined)) : undefined
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
  const result = await runBacktest({
    siteFile: flags.site ?? demo,
    fromMs,
    days,
    cycleS: parseIntegerFlag('cycle-s', flags['cycle-s'], 1, 900, 30),
    seed: parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1),
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
