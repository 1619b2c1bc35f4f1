// Control loop and backtest speed against the simulator (a separate process, real Modbus):
// - one control cycle (read all devices, decide, write) with 10 devices, p50/p99, and the
//   same with 3 devices as the baseline measured in the same run;
// - wall time of one simulated day in a backtest: the controller run (forecast, a MILP
//   every 15 minutes, control every 30 s) against the self-consumption run (no planning).
//   node bin/run-ts.js bench/control.bench.ts [--cycles 400]
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { stringify } from 'yaml'
import { spawnSimulator } from '../core/simulator/spawnSimulator.ts'
import { runBacktest } from '../core/control/backtest/runBacktest.ts'
import { createControlLoop } from '../core/control/createControlLoop.ts'
import type { DeviceDriver } from '../core/devices/capabilities.ts'
import { createConnectionPool } from '../core/devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../core/devices/sunspec/createSunSpecDriver.ts'
import type { Plan } from '../core/schedule/planSchedule.ts'

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

async function cycleTimes(n: number): Promise<{ devices: number; p50Ms: number; p99Ms: number; maxMs: number; writesPerCycle: number }> {
  const sim = await spawnSimulator(siteWith(n), 1, 60_000, { speed: 1 })
  const pool = createConnectionPool({ timeoutMs: 1000 })
  try {
    const drivers: DeviceDriver[] = []
    for (const r of sim.ready) drivers.push(await createSunSpecDriver({ name: r.device, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: r.port! }), unitId: r.unitId }))
    const batteries = drivers.filter((d) => d.battery)
    let step = 0
    // A plan that alternates charge and discharge every cycle, so every cycle writes every battery.
    const plan = (): Plan => {
      const now = Date.now()
      return { version: 1, createdAtMs: now, startMs: now - 1000, slotDurationMs: 3_600_000, objective: 'cost', objectiveValue: 0, expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: 50, unmetGoals: [], warnings: [], solveStats: { solveTimeMs: 0, rounds: 0, integerVariables: 0, columns: 0, rows: 0 }, slots: [{ startMs: now - 1000, batteryPowerW: step % 2 ? 1000 * batteries.length : -1000 * batteries.length, gridPowerW: 5000, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: 50, flexibleLoads: [], marketBuyW: 0, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 }] }
    }
    const loop = createControlLoop({
      devices: drivers.map((driver) => ({ name: driver.name, driver })),
      batteryLimits: Object.fromEntries(batteries.map((b) => [b.name, { maxChargeW: 3000, maxDischargeW: 3000, socMinPct: 5, socMaxPct: 100, rampWPerS: Infinity }])),
      site: { maxImportW: null, maxExportW: null },
      now: () => Date.now(),
      plan,
    })
    for (let i = 0; i < 30; i++, step++) await loop.tick() // warm-up: connections, JIT
    const times: number[] = []
    let writes = 0
    for (let i = 0; i < cycles; i++, step++) {
      const report = await loop.tick()
      times.push(report.durationMs)
      writes += report.writes.length
    }
    times.sort((a, b) => a - b)
    const at = (q: number) => Math.round(times[Math.min(times.length - 1, Math.floor(q * times.length))]! * 100) / 100
    return { devices: n, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1), writesPerCycle: Math.round((writes / cycles) * 10) / 10 }
  } finally {
    await pool.close()
    await sim.stop()
  }
}

async function main() {
  const ten = await cycleTimes(10)
  log(`10 devices: p50 ${ten.p50Ms} ms, p99 ${ten.p99Ms} ms, ${ten.writesPerCycle} writes per cycle`)
  const three = await cycleTimes(3)
  log(`3 devices: p50 ${three.p50Ms} ms, p99 ${three.p99Ms} ms`)
  const demo = fileURLToPath(new URL('../hardware-sims/sites/demo.yaml', import.meta.url))
  const backtest = await runBacktest({ siteFile: demo, fromMs: Date.parse('2013-01-14T13:00:00Z'), days: 1, warmupDays: 0, onProgress: log })
  const wall = Object.fromEntries(backtest.runs.map((r) => [r.name, r.wallTimeS]))
  const report = {
    bench: 'control',
    results: {
      cycle10Devices: ten,
      cycle3Devices: three,
      backtestDayWallS: wall,
      backtestDay: { cycleS: backtest.cycleS, plans: backtest.runs[0]!.plans },
    },
    ratios: {
      cycleP99_10over3Devices: Math.round((ten.p99Ms / three.p99Ms) * 100) / 100,
      backtestDay_controllerOverSelfConsumption: Math.round((wall.controller! / wall['self-consumption']!) * 100) / 100,
    },
    targets: { cycle10DevicesP99Ms: '< 20', backtestDayWallS: '< 30 (controller run)' },
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

await main().catch((error: unknown) => {
  log(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exitCode = 1
})
