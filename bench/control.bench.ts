// Control loop and backtest speed against the simulator (a separate process, real Modbus),
// all through the site runtime serve runs (createSiteRuntime):
// - one control cycle (read all devices, decide, write) with 10 devices, p50/p99, and the
//   same with 3 devices as the baseline measured in the same run;
// - cycles while the MILP solves (the planner beside the cycle), against the solver in the
//   loop's own thread as the baseline;
// - wall time of one simulated day in a backtest: the controller run (forecast, a MILP
//   every 15 minutes, control every 30 s) against the self-consumption run (no planning).
//   node bin/run-ts.js bench/control.bench.ts [--cycles 400]
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { setTimeout as sleep } from 'node:timers/promises'
import { parse, stringify } from 'yaml'
import { runBacktest } from '../core/control/backtest/runBacktest.ts'
import { createForecastPlanner, pvArrayOf } from '../core/control/createForecastPlanner.ts'
import { createSiteRuntime, siteRuntimeDefaults, type SiteRuntimeOptions } from '../core/control/createSiteRuntime.ts'
import { defaultTariff } from '../core/control/timeOfUseTariff.ts'
import { createSiteLoadForecaster } from '../core/forecast/createSiteLoadForecaster.ts'
import type { PlanWorker } from '../core/schedule/createPlanWorker.ts'
import { planSchedule, type Plan } from '../core/schedule/planSchedule.ts'
import { openSiteDevices } from '../core/simulator/openSiteDevices.ts'
import { simulatorSiteFile, type SimulatorSite } from '../core/simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../core/simulator/spawnSimulator.ts'

const { values } = parseArgs({ options: { cycles: { type: 'string', default: '400' } } })
const cycles = Number(values.cycles)
const log = (m: string) => process.stderr.write(`control: ${m}\n`)
const dir = mkdtempSync(join(tmpdir(), 'gridmesh-bench-control-'))
const location = { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' }

function siteWith(n: number): string {
  // n devices: one meter, then batteries and inverters alternating.
  const devices: unknown[] = [{ name: 'meter', kind: 'meter', transport: { type: 'tcp', port: 0 } }]
  for (let i = 1; i < n; i++) {
    devices.push(i % 2
      ? { name: `bat${i}`, kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: 10000, maxChargeW: 3000, maxDischargeW: 3000 }
      : { name: `pv${i}`, kind: 'inverter', transport: { type: 'tcp', port: 0 }, ratedW: 5000, azimuthDeg: 0 })
  }
  const file = join(dir, `site-${n}.yaml`)
  writeFileSync(file, stringify({ name: `bench-${n}`, location, clock: { start: '2013-01-15T02:00:00Z', speed: 1 }, load: { peakW: 20000 }, api: { host: '127.0.0.1', port: 0 }, devices }))
  return file
}

type CycleStats = { p50Ms: number; p99Ms: number; maxMs: number; cycles: number }
function stats(times: number[]): CycleStats {
  const sorted = [...times].sort((a, b) => a - b)
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 100) / 100
  return { p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), cycles: sorted.length }
}

/** The site runtime (as serve composes it) on a simulated site of n devices, real clock, the devices opened through the driver registry. */
async function openRuntime(n: number, extra: Partial<SiteRuntimeOptions> & { plan?: boolean } = {}) {
  const file = siteWith(n)
  const sim = await spawnSimulator(file, 1, 60_000, { speed: 1 })
  const site = simulatorSiteFile({ sim: parse(readFileSync(file, 'utf8')) as SimulatorSite, ready: sim.ready, timeoutMs: 1000 })
  const devices = await openSiteDevices(site, { retries: 0 })
  const runtime = createSiteRuntime({
    name: site.name,
    timeZone: location.timezone,
    drivers: devices.drivers,
    clock: { now: () => Date.now() },
    control: site.control!,
    tariff: defaultTariff(location.timezone),
    planPolicy: { kind: 'manual' },
    // serve's planner: load forecast, PV forecast of the site's array, 96 slots at the time-of-use tariff.
    planner: extra.plan ? createForecastPlanner({ forecaster: createSiteLoadForecaster({ timeZone: location.timezone }), modelSource: () => null, pvArray: pvArrayOf(site.control!), pv: siteRuntimeDefaults.pvForecast, horizonSlots: siteRuntimeDefaults.horizonSlots }) : null,
    ...extra,
  })
  return {
    runtime,
    drivers: devices.drivers,
    async close() {
      await runtime.stop()
      await devices.close()
      await sim.stop()
    },
  }
}

// A plan of 50 ms slots that alternates charge and discharge, so a cycle in every slot writes every battery.
const alternateMs = 50
function alternatingPlan(batteries: number): Plan {
  const now = Math.floor(Date.now() / alternateMs) * alternateMs
  const slots = Array.from({ length: 72_000 }, (_, i) => ({ startMs: now + i * alternateMs, batteryPowerW: i % 2 ? 1000 * batteries : -1000 * batteries, gridPowerW: 5000, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: 50, flexibleLoads: [], marketBuyW: 0, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 }))
  return { version: 1, createdAtMs: now, startMs: now, slotDurationMs: alternateMs, objective: 'cost', objectiveValue: 0, expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: 50, unmetGoals: [], warnings: [], solveStats: { solveTimeMs: 0, rounds: 0, integerVariables: 0, columns: 0, rows: 0 }, slots }
}

async function cycleTimes(n: number): Promise<{ devices: number; p50Ms: number; p99Ms: number; maxMs: number; writesPerCycle: number }> {
  const batteries = Math.floor(n / 2)
  const site = await openRuntime(n, { initialPlan: alternatingPlan(batteries) })
  try {
    for (let i = 0; i < 30; i++) await site.runtime.tick() // warm-up: connections, JIT
    const times: number[] = []
    let writes = 0
    for (let i = 0; i < cycles; i++) {
      const report = await site.runtime.tick()
      times.push(report.durationMs)
      writes += report.writes.length
      await sleep(alternateMs - (Date.now() % alternateMs) + 2) // each cycle in the next plan slot
    }
    const s = stats(times)
    return { devices: n, p50Ms: s.p50Ms, p99Ms: s.p99Ms, maxMs: s.maxMs, writesPerCycle: Math.round((writes / cycles) * 10) / 10 }
  } finally {
    await site.close()
  }
}

/**
 * Cycles while the MILP solves: a 96-slot plan is asked for and cycles run back to back
 * until it lands, `solves` times; the cycles that overlapped a solve are timed. `inThread`
 * solves in the loop's own thread (as the controller did before planning moved beside the
 * cycle), the baseline measured in the same run.
 */
async function cyclesDuringReplan(solves: number, inThread: boolean): Promise<CycleStats & { solveMs: CycleStats }> {
  const solver: PlanWorker | undefined = inThread ? { plan: (input, o) => planSchedule(input, o), close: async () => {} } : undefined
  const site = await openRuntime(3, {
    plan: true,
    ...(solver && { solver }),
  })
  try {
    for (let i = 0; i < 10; i++) await site.runtime.tick()
    await site.runtime.requestPlan() // warm: the worker and HiGHS loaded
    const times: number[] = []
    const solveTimes: number[] = []
    for (let i = 0; i < solves; i++) {
      let landed = false
      const started = performance.now()
      const solving = site.runtime.requestPlan().then(() => {
        landed = true
        solveTimes.push(performance.now() - started)
      })
      // Cycles back to back (5 ms apart) while the solve runs, so many overlap it.
      while (!landed) {
        // A cycle that starts before the plan landed overlaps the solve (in the loop's thread it waits behind it).
        const tickStarted = performance.now()
        await site.runtime.tick()
        times.push(performance.now() - tickStarted)
        await sleep(5)
      }
      await solving
    }
    return { ...stats(times), solveMs: stats(solveTimes) }
  } finally {
    await site.close()
  }
}

async function main() {
  const ten = await cycleTimes(10)
  log(`10 devices: p50 ${ten.p50Ms} ms, p99 ${ten.p99Ms} ms, ${ten.writesPerCycle} writes per cycle`)
  const three = await cycleTimes(3)
  log(`3 devices: p50 ${three.p50Ms} ms, p99 ${three.p99Ms} ms`)
  const beside = await cyclesDuringReplan(60, false)
  log(`during a replan, solver beside the cycle: p50 ${beside.p50Ms} ms, p99 ${beside.p99Ms} ms over ${beside.cycles} cycles (solve p50 ${beside.solveMs.p50Ms} ms)`)
  const inThread = await cyclesDuringReplan(60, true)
  log(`during a replan, solver in the loop's thread: p50 ${inThread.p50Ms} ms, p99 ${inThread.p99Ms} ms over ${inThread.cycles} cycles`)
  const demo = fileURLToPath(new URL('../hardware-sims/sites/demo.yaml', import.meta.url))
  const backtest = await runBacktest({ siteFile: demo, fromMs: Date.parse('2013-01-14T13:00:00Z'), days: 1, warmupDays: 0, onProgress: log })
  const wall = Object.fromEntries(backtest.runs.map((r) => [r.name, r.wallTimeS]))
  const report = {
    bench: 'control',
    results: {
      cycle10Devices: ten,
      cycle3Devices: three,
      cycleDuringReplan: beside,
      cycleDuringReplanInThread: inThread,
      backtestDayWallS: wall,
      backtestDay: { cycleS: backtest.cycleS, plans: backtest.runs[0]!.plans },
    },
    ratios: {
      cycleP99_10over3Devices: Math.round((ten.p99Ms / three.p99Ms) * 100) / 100,
      cycleP99DuringReplan_besideOverInThread: Math.round((beside.p99Ms / Math.max(0.01, inThread.p99Ms)) * 100) / 100,
      backtestDay_controllerOverSelfConsumption: Math.round((wall.controller! / wall['self-consumption']!) * 100) / 100,
    },
    targets: { cycle10DevicesP99Ms: '< 20', cycleDuringReplanP99Ms: '< 20', backtestDayWallS: '< 30 (controller run)' },
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

await main().catch((error: unknown) => {
  log(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exitCode = 1
})
