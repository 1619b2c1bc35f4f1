import { describe, expect, it } from 'vitest'
import type { BacktestResult } from './runBacktest.ts'
import { runBacktestWindows } from './runBacktestWindows.ts'

/** A backtest result with these adjusted costs (controller, self-consumption, perfect foresight); only what the summary reads. */
function fake(args: string[], costs: [number, number, number], violations = 0, atMeanPrice?: [number, number]): BacktestResult {
  const at = (flag: string) => args[args.indexOf(flag) + 1]!
  const metrics = (cost: number, v: number, mean?: number) => ({ costAdjustedEur: cost, ...(mean !== undefined && { costAdjustedAtMeanPriceEur: mean }), violations: { soc: v, rating: 0, envelope: 0 } })
  const [c, s, p] = costs
  return {
    from: at('--from'),
    days: Number(at('--days')),
    seed: Number(at('--seed')),
    runs: [
      { name: 'controller', metrics: metrics(c, violations, atMeanPrice?.[0]), plans: 200 },
      { name: 'self-consumption', metrics: metrics(s, 0), plans: 0 },
      { name: 'perfect-foresight', metrics: metrics(p, 0, atMeanPrice?.[1]), plans: 1 },
    ],
    controller: { loadForecastMethods: { model: 200 }, pvForecastMethods: { 'clear-sky-weather': 200 }, plansWithLoadHeadroom: 12 },
    comparison: { savingVsSelfConsumptionEur: s - c, savingVsSelfConsumptionPct: Math.round((10000 * (s - c)) / s) / 100, gapToPerfectForesightPct: Math.round((10000 * (c - p)) / p) / 100 },
    wallTimeS: 1,
  } as unknown as BacktestResult
}

const windows = [
  { fromMs: Date.parse('2013-02-03T13:00:00Z'), days: 2, seeds: [1, 2] },
  { fromMs: Date.parse('2013-08-04T14:00:00Z'), days: 2, seeds: [3] },
]

describe('runBacktestWindows', () => {
  it('runs every (window, seed) with the shared flags, keeps their order, and reports median, mean, best and worst', async () => {
    const costs: Record<string, [number, number, number]> = { 1: [10.2, 11, 10], 2: [10.5, 11, 10], 3: [21, 20, 20] }
    const seen: string[][] = []
    const result = await runBacktestWindows({
      windows,
      args: ['--pv-quantile', '0.5'],
      parallel: 2,
      // Later runs finish first: the order of the report is still the order given.
      runOne: async (args) => {
        seen.push(args)
        const seed = args[args.indexOf('--seed') + 1]!
        await new Promise((r) => setTimeout(r, 30 - 10 * Number(seed)))
        // Seed 1 reports its costs with the battery valued at the mean price too (perfect foresight ended fuller: 9.6 instead of 10).
        return fake(args, costs[seed]!, seed === '3' ? 2 : 0, seed === '1' ? [10.2, 9.6] : undefined)
      },
    })
    expect(seen).toContainEqual(['--from', '2013-08-04T14:00:00.000Z', '--days', '2', '--seed', '3', '--pv-quantile', '0.5'])
    expect(result.runs.map((r) => [r.from, r.seed])).toEqual([['2013-02-03T13:00:00.000Z', 1], ['2013-02-03T13:00:00.000Z', 2], ['2013-08-04T14:00:00.000Z', 3]])
    expect(result.runs.map((r) => r.gapToPerfectForesightPct)).toEqual([2, 5, 5])
    expect(result.overall.gapToPerfectForesightPct).toEqual({ median: 5, mean: 4, best: 2, worst: 5 })
    // Only the run that reports the older valuation counts in its distribution; the others say null.
    expect(result.runs.map((r) => r.gapAtMeanPricePct)).toEqual([6.25, null, null])
    expect(result.overall.gapAtMeanPricePct).toEqual({ median: 6.25, mean: 6.25, best: 6.25, worst: 6.25 })
    // A saving's worst is its lowest: the third run cost more than self-consumption.
    expect(result.overall.savingVsSelfConsumptionPct).toEqual({ median: 4.55, mean: 2.27, best: 7.27, worst: -5 })
    expect(result.overall.pooled).toEqual({ controllerEur: 41.7, selfConsumptionEur: 42, perfectForesightEur: 40, gapToPerfectForesightPct: 4.25, savingVsSelfConsumptionPct: 0.71 })
    expect(result.overall.violations).toBe(2)
    expect(result.runs[2]!.controllerViolations).toEqual({ soc: 2, rating: 0, envelope: 0 })
    expect(result.runs[0]).toMatchObject({ plans: 200, plansWithLoadHeadroom: 12, loadForecastMethods: { model: 200 }, pvForecastMethods: { 'clear-sky-weather': 200 } })
  })

  it('a failing run fails the whole backtest, naming its window and seed', async () => {
    const run = runBacktestWindows({ windows, args: [], runOne: async (args) => (args.includes('2') && args.includes('--seed') && args[args.indexOf('--seed') + 1] === '2' ? Promise.reject(new Error('the simulator died')) : fake(args, [1, 1, 1])) })
    await expect(run).rejects.toThrow(/^window 2013-02-03T13:00 \+2d seed 2: the simulator died/)
  })
})
