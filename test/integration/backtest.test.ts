import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { prepareSiteLoadModel } from '../../core/control/backtest/prepareSiteLoadModel.ts'
import { renderBacktestHtml } from '../../core/control/backtest/renderBacktestHtml.ts'
import { runBacktest } from '../../core/control/backtest/runBacktest.ts'
import { runCli } from '../support/spawnSim.ts'

const demo = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))
const vicElec = fileURLToPath(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url))
const defaultModel = fileURLToPath(new URL('../../models/default', import.meta.url))

describe('backtest', () => {
  it('runs the controller and both references over six hours of the demo site with no limit violations', { timeout: 240_000 }, async () => {
    const result = await runBacktest({ siteFile: demo, fromMs: Date.parse('2013-01-15T00:00:00Z'), days: 0.25, warmupDays: 0 })
    expect(result.runs.map((r) => r.name)).toEqual(['controller', 'self-consumption', 'perfect-foresight'])
    for (const run of result.runs) {
      expect(run.slots).toHaveLength(24)
      expect(run.metrics.violations).toEqual({ soc: 0, rating: 0, envelope: 0 })
      // The meter's counters (integrals) and the controller's sampled powers tell the same
      // story over the run, grid = load - pv - battery (samples lag the setpoints by a cycle).
      const gridWh = run.slots.reduce((sum, s) => sum + s.importWh - s.exportWh, 0)
      const sampledWh = run.slots.reduce((sum, s) => sum + (s.loadW - s.pvW - s.batteryW) / 4, 0)
      const throughputWh = run.slots.reduce((sum, s) => sum + s.importWh + s.exportWh, 0)
      expect(Math.abs(gridWh - sampledWh)).toBeLessThan(0.03 * throughputWh + 100)
    }
    const [controller, selfConsumption, perfect] = result.runs
    // Re-planned as serve does: every slot, and inside a slot when the SoC strays from the plan.
    expect(controller!.plans).toBeGreaterThanOrEqual(24)
    expect(controller!.slots.every((s) => s.planCreatedAtMs !== null && s.planCreatedAtMs >= s.startMs)).toBe(true)
    expect(perfect!.plans).toBe(1)
    expect(selfConsumption!.plans).toBe(0)
    // Six hours are too short to judge economics (the horizon's end dominates); the 7-day
    // run of the CLI is where costs are compared. Here: every run started from the same state.
    expect(new Set(result.runs.map((r) => r.metrics.startSocPct)).size).toBe(1)
    const html = renderBacktestHtml(result)
    expect(html.match(/<svg/g)).toHaveLength(4)
    expect(html).toContain('gap to perfect foresight')
    expect(html).toContain('Controller: load forecast seasonal-naive, PV forecast persistence')
    expect(result.controller).toMatchObject({ loadForecast: 'seasonal-naive', pvForecast: 'persistence', pvPersistenceHours: 6, pvClimatologyQuantile: 0.67, horizonSlots: 96, endSocTargetPct: 30, exportTieBreakEurPerKWh: 0.005, model: null, historyPass: null })
  })

  it('forecasts with a model trained only on the history before --from, fed a measured week of the site', { timeout: 600_000 }, async () => {
    // Midnight in Melbourne, the reported week's start: the CLI's 7-day run trains the same (cached) model.
    const fromMs = Date.parse('2013-01-14T13:00:00Z')
    // The first run trains (about a minute, in a worker); later runs reuse the cached model.
    const result = await runBacktest({ siteFile: demo, fromMs, days: 0.25, warmupDays: 0, historyFile: vicElec })
    const c = result.controller
    expect(c.loadForecast).toBe('model')
    expect(Date.parse(c.model!.trainedToIso)).toBeLessThanOrEqual(fromMs)
    // Without a warm-up day the pass reads all eight days of the simulated site's own meters.
    expect(c.historyPass).toMatchObject({ days: 8, slots: 8 * 96 })
    expect(c.loadForecastMethods).toEqual({ model: result.runs[0]!.plans })
    for (const run of result.runs) expect(run.metrics.violations).toEqual({ soc: 0, rating: 0, envelope: 0 })
    const again = await prepareSiteLoadModel({ historyFile: vicElec, cutoffMs: fromMs, timeZone: 'Australia/Melbourne' })
    expect(again.cached).toBe(true)
    expect(again.dir).toBe(c.model!.dir)

    // Oracle diagnostics plan with the self-consumption run's truth; with both, no forecast is made.
    const oracle = await runBacktest({ siteFile: demo, fromMs, days: 0.25, warmupDays: 0, oracle: { load: true, pv: true }, horizonSlots: 24, endSocTargetPct: null })
    expect(oracle.controller).toMatchObject({ loadForecast: 'oracle', pvForecast: 'oracle', horizonSlots: 24, endSocTargetPct: null, loadForecastMethods: {} })
    expect(oracle.runs[0]!.plans).toBeGreaterThanOrEqual(24)
  })

  it('refuses bad flags and a site it cannot backtest, naming the problem', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-bt-'))
    const rtuSite = join(dir, 'site.yaml')
    writeFileSync(rtuSite, `name: x\nlocation: { latitudeDeg: 0, longitudeDeg: 0, timezone: UTC }\nload: { peakW: 1000 }\ndevices:\n  - { name: m1, kind: meter, transport: { type: rtu, path: /dev/null, unitId: 1 } }\n`)
    const cases: [string[], number, RegExp][] = [
      [['backtest', '--from', 'yesterday', '--days', '1'], 2, /--from: expected an ISO 8601 date/],
      [['backtest', '--from', '2013-01-14', '--days', '0'], 2, /--days: expected an integer from 1 to 366, got '0'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--speed', '10'], 2, /--speed: only 'max' is supported/],
      [['backtest', '--site', rtuSite, '--from', '2013-01-14', '--days', '1', '--load-forecast', 'seasonal-naive'], 1, /devices\.m1: backtests run the simulator on loopback TCP/],
      [['backtest', '--site', rtuSite, '--from', '2013-01-14', '--days', '1'], 2, /--load-forecast model: give --history FILE\.csv/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--oracle', 'weather'], 2, /--oracle: expected load, pv or load,pv, got 'weather'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--horizon-slots', '1000'], 2, /--horizon-slots: expected an integer from 4 to 192, got '1000'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--end-soc-pct', '150'], 2, /--end-soc-pct: expected a percentage from 0 to 100 or none, got '150'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--load-forecast', 'lstm'], 2, /--load-forecast: expected model or seasonal-naive, got 'lstm'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--history', join(dir, 'none.csv')], 2, /--history: .*none\.csv: no such file/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--model', dir], 2, /--model: .*: no model\.json there/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--history-days', 'x'], 2, /--history-days: expected an integer from 0 to 60, got 'x'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--pv-forecast', 'sunny'], 2, /--pv-forecast: expected persistence or clear-sky-scaled, got 'sunny'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--pv-quantile', '1.5'], 2, /--pv-quantile: expected a number from 0 to 1 such as 0\.67, or mean, got '1\.5'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--pv-plan-quantile', '0.99'], 2, /--pv-plan-quantile: expected a quantile from 0\.05 to 0\.95 such as 0\.6, got '0\.99'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--pv-plan-quantile', 'median'], 2, /--pv-plan-quantile: expected a quantile from 0\.05 to 0\.95 such as 0\.6, got 'median'/],
      [['backtest', '--from', '2013-01-14', '--days', '1', '--export-tie-break', '2'], 2, /--export-tie-break: expected EUR\/kWh from 0 to 1 such as 0\.005, got '2'/],
      // The shipped model was trained on 2012-2014: it has seen the backtested days.
      [['backtest', '--from', '2013-01-14', '--days', '1', '--model', defaultModel], 1, /--model: .* covers the backtested days; give --history FILE/],
    ]
    for (const [args, code, message] of cases) {
      const run = await runCli(args, 60_000)
      expect(run.code, args.join(' ')).toBe(code)
      expect(run.stderr).toMatch(message)
    }
  })
})
