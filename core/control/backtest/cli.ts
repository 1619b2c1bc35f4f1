import { renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseFlags, parseIntegerFlag } from '../../cli/parseFlags.ts'
import { UsageError } from '../../errors/BaseError.ts'
import { renderBacktestHtml } from './renderBacktestHtml.ts'
import { runBacktest } from './runBacktest.ts'

const help = `usage: gridmesh backtest [--site FILE] --from DATE --days N [--speed max] [--cycle-s N] [--seed N] [--json] [--report FILE.html]

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
`

const demo = fileURLToPath(new URL('../../../hardware-sims/sites/demo.yaml', import.meta.url))

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('backtest', argv, {
    site: { type: 'string' }, from: { type: 'string' }, days: { type: 'string' }, speed: { type: 'string' }, 'cycle-s': { type: 'string' },
    seed: { type: 'string' }, json: { type: 'boolean' }, report: { type: 'string' }, help: { type: 'boolean', short: 'h' },
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
  const result = await runBacktest({
    siteFile: flags.site ?? demo,
    fromMs,
    days,
    cycleS: parseIntegerFlag('cycle-s', flags['cycle-s'], 1, 900, 30),
    seed: parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1),
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
    process.stdout.write(`${lines.join('\n')}\nsaving vs self-consumption ${result.comparison.savingVsSelfConsumptionEur.toFixed(2)} EUR (${result.comparison.savingVsSelfConsumptionPct} %), gap to perfect foresight ${result.comparison.gapToPerfectForesightPct} %, wall time ${result.wallTimeS} s\n`)
  }
  return 0
}
