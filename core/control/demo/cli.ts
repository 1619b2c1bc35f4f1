import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseFlags, parseIntegerFlag } from '../../cli/parseFlags.ts'
import type { DeviceDriver } from '../../devices/capabilities.ts'
import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { forecastPv } from '../../forecast/forecastPv.ts'
import { planSchedule, type Plan } from '../../schedule/planSchedule.ts'
import { createStore } from '../../store/createStore.ts'
import { spawnSimulator } from '../backtest/spawnSimulator.ts'
import { defaultTariff, importPriceAt } from '../backtest/timeOfUseTariff.ts'
import { createControlLoop } from '../createControlLoop.ts'

const help = `usage: gridmesh demo [--speed N] [--data DIR] [--seed N]

The embedded demo microgrid: the hardware simulator (PV inverter, battery, meter on
Modbus TCP 127.0.0.1:5020-5022, its control API on 127.0.0.1:8600), and the GridMesh
controller reading and commanding them every cycle, re-planning the battery with the
MILP every 15 simulated minutes, storing telemetry, writes, plans and alarms in
DIR/gridmesh.db. A status line every few seconds; Ctrl-C stops everything.

  --speed N   time warp of the simulated site (default 60: an hour a minute)
  --data DIR  where the store lives (default ./gridmesh-data)
  --seed N    cloud seed (default 1)
`

const slotMs = 900_000
const demoSite = fileURLToPath(new URL('../../../hardware-sims/sites/demo.yaml', import.meta.url))

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('demo', argv, { speed: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  const speed = parseIntegerFlag('speed', flags.speed, 1, 600, 60)
  const seed = parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1)
  const dataDir = flags.data ?? 'gridmesh-data'
  mkdirSync(dataDir, { recursive: true })
  const store = createStore({ path: join(dataDir, 'gridmesh.db') })
  const sim = await spawnSimulator(demoSite, seed, 60_000, { speed })
  const pool = createConnectionPool({ timeoutMs: 1000 })
  const say = (m: string) => process.stderr.write(`${new Date().toISOString()} demo: ${m}\n`)
  try {
    const drivers: DeviceDriver[] = []
    for (const r of sim.ready) drivers.push(await createSunSpecDriver({ name: r.device, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: r.port! }), unitId: r.unitId, log: (m) => (m.endsWith(' ok') && !m.includes('clamped') ? undefined : say(m)) }))
    const battery = drivers.find((d) => d.battery)!
    const b = battery.battery!
    const state0 = await sim.state()
    const realStart = performance.now()
    const simNow = () => Math.round(state0.timeMs + (performance.now() - realStart) * speed)
    const tariff = defaultTariff('Australia/Melbourne')
    let plan: Plan | null = null
    const history = new Map<number, { load: number; pv: number; n: number }>()
    const loop = createControlLoop({
      devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 15_000, refreshMs: 20_000 })),
      batteryLimits: { [battery.name]: { maxChargeW: b.maxChargeW ?? 0, maxDischargeW: b.maxDischargeW ?? 0, socMinPct: Math.max(10, b.socMinPct ?? 0), socMaxPct: Math.min(95, b.socMaxPct ?? 100), rampWPerS: Infinity } },
      site: { maxImportW: null, maxExportW: null },
      now: simNow,
      plan: () => plan,
      store,
      log: say,
    })
    let lastPlanSlot = -1
    const replan = async (nowMs: number, socPct: number, loadNowW: number) => {
      const start = Math.floor(nowMs / slotMs) * slotMs
      const pv = forecastPv({ site: { latitudeDeg: -37.81, longitudeDeg: 144.96, tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 }, fromMs: start, slotMs, slots: 96 }).forecast
      plan = await planSchedule({
        startMs: start, slotDurationMs: slotMs, objective: 'cost',
        slots: pv.map((p, i) => {
          const t = start + i * slotMs
          const seen = history.get(t - 86_400_000)
          return { loadPowerW: seen ? seen.load / seen.n : loadNowW, pvPowerW: p.powerKw * 1000, importPriceEurPerKWh: importPriceAt(tariff, t), exportPriceEurPerKWh: tariff.exportEurPerKWh }
        }),
        battery: { capacityWh: b.capacityWh ?? 10_000, socPct, minSocPct: 10, maxSocPct: 95, maxChargePowerW: b.maxChargeW ?? 0, maxDischargePowerW: b.maxDischargeW ?? 0, targetEndSocPct: 30, degradationCostEurPerKWh: 0.01 },
      }, { nowMs })
      store.savePlan(plan)
      say(`planned 96 slots: expected cost ${plan.expectedCostEur.toFixed(2)} EUR, ${plan.status}, ${plan.solveStats.solveTimeMs.toFixed(0)} ms`)
    }
    let stopping = false
    const stop = () => (stopping = true)
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    say(`running: simulator API ${sim.apiUrl}, speed ${speed}x, store ${join(dataDir, 'gridmesh.db')}`)
    const periodMs = Math.min(1000, 15_000 / speed)
    let lastStatus = 0
    while (!stopping) {
      const t0 = performance.now()
      const report = await loop.tick()
      const snap = report.snapshot
      const batteryW = snap.batteries[0]?.powerW ?? 0
      if (snap.gridW !== null && snap.pvW !== null) {
        const slot = Math.floor(snap.timeMs / slotMs) * slotMs
        const h = history.get(slot) ?? { load: 0, pv: 0, n: 0 }
        history.set(slot, { load: h.load + snap.gridW + snap.pvW + batteryW, pv: h.pv + snap.pvW, n: h.n + 1 })
        const slotIndex = Math.floor(snap.timeMs / slotMs)
        if (slotIndex !== lastPlanSlot && snap.batteries[0]?.socPct != null) {
          lastPlanSlot = slotIndex
          await replan(snap.timeMs, snap.batteries[0].socPct, snap.gridW + snap.pvW + batteryW)
        }
      }
      if (performance.now() - lastStatus > 5000) {
        lastStatus = performance.now()
        const d = report.decisions[0]
        process.stdout.write(`${new Date(snap.timeMs).toISOString()}  load ${Math.round((snap.gridW ?? 0) + (snap.pvW ?? 0) + batteryW)} W  pv ${Math.round(snap.pvW ?? 0)} W  battery ${Math.round(batteryW)} W (SoC ${snap.batteries[0]?.socPct ?? '-'} %)  grid ${Math.round(snap.gridW ?? 0)} W  mode ${d?.mode ?? '-'}  alarms ${loop.activeAlarms().join(',') || 'none'}  cycle ${report.durationMs.toFixed(1)} ms\n`)
      }
      await new Promise((r) => setTimeout(r, Math.max(0, periodMs - (performance.now() - t0))))
    }
    say('stopping')
    return 0
  } finally {
    await pool.close()
    await sim.stop()
    store.close()
  }
}
