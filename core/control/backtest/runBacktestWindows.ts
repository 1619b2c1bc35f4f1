import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BacktestError } from './BacktestError.ts'
import type { BacktestWindow } from './parseBacktestWindows.ts'
import type { BacktestResult, RunMetrics } from './runBacktest.ts'

/** One (window, seed) of a multi-window backtest: the three runs' adjusted costs and what the controller did. */
export type BacktestWindowRun = {
  from: string
  days: number
  seed: number
  costAdjustedEur: { controller: number; selfConsumption: number; perfectForesight: number }
  gapToPerfectForesightPct: number
  /** The gap with the battery's final energy valued as before NOTES.md section 8 (at the period's mean import price; RunMetrics.costAdjustedAtMeanPriceEur); null from a run that does not report it. */
  gapAtMeanPricePct: number | null
  savingVsSelfConsumptionEur: number
  savingVsSelfConsumptionPct: number
  /** Limit violations (SoC, rating, envelope) summed over the three runs; `controller` alone beside it. */
  violations: number
  controllerViolations: RunMetrics['violations']
  plans: number
  /** Controller plans that kept (or fell short of) SoC headroom against the load P90. */
  plansWithLoadHeadroom: number
  loadForecastMethods: Record<string, number>
  pvForecastMethods: Record<string, number>
  wallTimeS: number
}

export type Distribution = { median: number; mean: number; best: number; worst: number }

export type BacktestWindowsResult = {
  /** The flags every run got besides --from, --days and --seed (the controller's settings). */
  args: string[]
  runs: BacktestWindowRun[]
  overall: {
    runs: number
    gapToPerfectForesightPct: Distribution
    /** The same over the runs that report it (null: none does). */
    gapAtMeanPricePct: Distribution | null
    savingVsSelfConsumptionPct: Distribution
    /** Summed costs over all runs, and the gap and saving of the sums. */
    pooled: { controllerEur: number; selfConsumptionEur: number; perfectForesightEur: number; gapToPerfectForesightPct: number; savingVsSelfConsumptionPct: number }
    violations: number
  }
  wallTimeS: number
}

export type RunBacktestWindowsOptions = {
  windows: BacktestWindow[]
  /** CLI flags for every run (the controller's settings), without --from, --days, --seed and --json. */
  args: string[]
  /** Runs at once, each a child process (`gridmesh backtest ... --json`); default 1. */
  parallel?: number
  onProgress?: (message: string) => void
  /** One run; default: a child process of this CLI. Tests pass their own. */
  runOne?: (args: string[], onLine: (line: string) => void) => Promise<BacktestResult>
}

const bin = fileURLToPath(new URL('../../../bin/gridmesh.js', import.meta.url))

/**
 * Runs `gridmesh backtest` once per (window, seed), `parallel` at a time in child processes,
 * and reports each run and the distribution over all of them: the gap to perfect foresight
 * and the saving against self-consumption (median, mean, best, worst) and the limit violations.
 * Runs are ordered as the windows and seeds were given, whatever order they finish in.
 */
export async function runBacktestWindows(options: RunBacktestWindowsOptions): Promise<BacktestWindowsResult> {
  const started = performance.now()
  const progress = options.onProgress ?? (() => {})
  const runOne = options.runOne ?? runChild
  const jobs = options.windows.flatMap((w) => w.seeds.map((seed) => ({ from: new Date(w.fromMs).toISOString(), days: w.days, seed })))
  const parallel = Math.max(1, Math.min(options.parallel ?? 1, jobs.length))
  const runs: BacktestWindowRun[] = new Array(jobs.length)
  let next = 0
  const worker = async () => {
    while (next < jobs.length) {
      const index = next++
      const job = jobs[index]!
      const label = `${job.from.slice(0, 16)} +${job.days}d seed ${job.seed}`
      progress(`backtest windows: [${index + 1}/${jobs.length}] ${label}: started`)
      const args = ['--from', job.from, '--days', String(job.days), '--seed', String(job.seed), ...options.args]
      let result: BacktestResult
      try {
        result = await runOne(args, (line) => progress(`  [${label}] ${line}`))
      } catch (cause) {
        throw new BacktestError(`window ${label}: ${(cause as Error).message}`, { cause })
      }
      runs[index] = summarize(result)
      const r = runs[index]
      progress(`backtest windows: [${index + 1}/${jobs.length}] ${label}: gap ${r.gapToPerfectForesightPct} %, saving ${r.savingVsSelfConsumptionPct} %, violations ${r.violations}, ${r.wallTimeS} s`)
      // The whole run as one line too: what finished survives a run that is stopped before the end.
      progress(`backtest windows: run ${JSON.stringify(r)}`)
    }
  }
  await Promise.all(Array.from({ length: parallel }, worker))
  const sum = (f: (r: BacktestWindowRun) => number) => runs.reduce((s, r) => s + f(r), 0)
  const controllerEur = sum((r) => r.costAdjustedEur.controller)
  const selfConsumptionEur = sum((r) => r.costAdjustedEur.selfConsumption)
  const perfectForesightEur = sum((r) => r.costAdjustedEur.perfectForesight)
  const atMeanPrice = runs.flatMap((r) => (r.gapAtMeanPricePct === null ? [] : [r.gapAtMeanPricePct]))
  return {
    args: options.args,
    runs,
    overall: {
      runs: runs.length,
      gapToPerfectForesightPct: distribution(runs.map((r) => r.gapToPerfectForesightPct), 'high'),
      gapAtMeanPricePct: atMeanPrice.length ? distribution(atMeanPrice, 'high') : null,
      savingVsSelfConsumptionPct: distribution(runs.map((r) => r.savingVsSelfConsumptionPct), 'low'),
      pooled: {
        controllerEur: round(controllerEur, 3),
        selfConsumptionEur: round(selfConsumptionEur, 3),
        perfectForesightEur: round(perfectForesightEur, 3),
        gapToPerfectForesightPct: round((100 * (controllerEur - perfectForesightEur)) / Math.abs(perfectForesightEur), 2),
        savingVsSelfConsumptionPct: round((100 * (selfConsumptionEur - controllerEur)) / Math.abs(selfConsumptionEur), 2),
      },
      violations: sum((r) => r.violations),
    },
    wallTimeS: round((performance.now() - started) / 1000, 2),
  }
}

function summarize(result: BacktestResult): BacktestWindowRun {
  const run = (name: string) => {
    const r = result.runs.find((x) => x.name === name)
    if (!r) throw new BacktestError(`the backtest of ${result.from} seed ${result.seed} has no ${name} run`)
    return r
  }
  const controller = run('controller')
  const perfect = run('perfect-foresight').metrics.costAdjustedAtMeanPriceEur
  const atMeanPrice = controller.metrics.costAdjustedAtMeanPriceEur
  const count = (v: RunMetrics['violations']) => v.soc + v.rating + v.envelope
  return {
    from: result.from,
    days: result.days,
    seed: result.seed,
    costAdjustedEur: { controller: controller.metrics.costAdjustedEur, selfConsumption: run('self-consumption').metrics.costAdjustedEur, perfectForesight: run('perfect-foresight').metrics.costAdjustedEur },
    gapToPerfectForesightPct: result.comparison.gapToPerfectForesightPct,
    gapAtMeanPricePct: atMeanPrice === undefined || perfect === undefined ? null : round((100 * (atMeanPrice - perfect)) / Math.abs(perfect), 2),
    savingVsSelfConsumptionEur: result.comparison.savingVsSelfConsumptionEur,
    savingVsSelfConsumptionPct: result.comparison.savingVsSelfConsumptionPct,
    violations: result.runs.reduce((s, r) => s + count(r.metrics.violations), 0),
    controllerViolations: controller.metrics.violations,
    plans: controller.plans,
    plansWithLoadHeadroom: result.controller.plansWithLoadHeadroom ?? 0,
    loadForecastMethods: result.controller.loadForecastMethods,
    pvForecastMethods: result.controller.pvForecastMethods ?? {},
    wallTimeS: result.wallTimeS,
  }
}

/** Median, mean, best and worst; `worse` says which end is the worst (a gap is worse high, a saving low). */
function distribution(values: number[], worse: 'high' | 'low'): Distribution {
  const sorted = [...values].sort((a, b) => a - b)
  const n = sorted.length
  const median = n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2
  const mean = values.reduce((s, v) => s + v, 0) / n
  return { median: round(median, 2), mean: round(mean, 2), best: worse === 'high' ? sorted[0]! : sorted[n - 1]!, worst: worse === 'high' ? sorted[n - 1]! : sorted[0]! }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits

/** `gridmesh backtest ARGS --json` in a child process: its stderr lines go to onLine, its stdout is the result. */
function runChild(args: string[], onLine: (line: string) => void): Promise<BacktestResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'backtest', ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let err = ''
    const tail: string[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString('utf8')
      const lines = err.split('\n')
      err = lines.pop() ?? ''
      for (const line of lines) {
        onLine(line)
        tail.push(line)
        if (tail.length > 5) tail.shift()
      }
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new BacktestError(`the run exited with ${signal ?? `code ${code}`}: ${[...tail, err].filter(Boolean).join(' | ')}`))
        return
      }
      try {
        resolve(JSON.parse(Buffer.concat(out).toString('utf8')) as BacktestResult)
      } catch (cause) {
        reject(new BacktestError(`the run printed no JSON result: ${(cause as Error).message}`, { cause }))
      }
    })
  })
}
