import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { BaseError } from '../../errors/BaseError.ts'
import type { DeviceDriver } from '../../devices/capabilities.ts'
import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { forecastPv } from '../../forecast/forecastPv.ts'
import { planSchedule, type Plan } from '../../schedule/planSchedule.ts'
import { createControlLoop } from '../createControlLoop.ts'
import type { BatteryLimits } from '../decideSetpoints.ts'
import { spawnSimulator } from './spawnSimulator.ts'
import { defaultTariff, importPriceAt, type Tariff } from './timeOfUseTariff.ts'

export class BacktestError extends BaseError {
  override name = 'BacktestError' as const
}

const dayMs = 86_400_000
const slotMs = 900_000

export type BacktestOptions = {
  /** A simulator site file (hardware-sims format): the site whose hardware is simulated. */
  siteFile: string
  fromMs: number
  days: number
  /** Control cycle in simulated seconds (default 30, inside the devices' 60 s command timeout; the live loop runs at 1 s). */
  cycleS?: number
  seed?: number
  tariff?: Tariff
  /** The controller's own SoC window, inside the device's (default 10..95 %). */
  socMinPct?: number
  socMaxPct?: number
  /** Days run before `fromMs` in self-consumption to give the forecast history (default 1). */
  warmupDays?: number
  /** Planning horizon in slots for the receding-horizon plan (default 96: 24 h). */
  horizonSlots?: number
  onProgress?: (message: string) => void
}

export type SlotRecord = {
  startMs: number
  importWh: number
  exportWh: number
  loadW: number
  pvW: number
  batteryW: number
  socPct: number
  importPriceEurPerKWh: number
  exportPriceEurPerKWh: number
  plannedBatteryW: number | null
}

export type RunMetrics = {
  /** What the grid bill says: import at the import price minus export at the export price. */
  costEur: number
  /** The bill less the value of the energy left in the battery beyond what it started with
   * (valued at the period's mean import price times the discharge efficiency), so runs
   * that end fuller or emptier compare fairly. */
  costAdjustedEur: number
  startSocPct: number
  endSocPct: number
  importKWh: number
  exportKWh: number
  peakImportW: number
  selfConsumptionPct: number
  cycles: number
  violations: { soc: number; rating: number; envelope: number }
}

export type RunResult = { name: 'controller' | 'self-consumption' | 'perfect-foresight'; metrics: RunMetrics; slots: SlotRecord[]; plans: number; wallTimeS: number }

export type BacktestResult = {
  site: string
  from: string
  days: number
  cycleS: number
  seed: number
  tariff: Tariff
  runs: RunResult[]
  perfectForesightOptimumEur: number | null
  comparison: { savingVsSelfConsumptionEur: number; savingVsSelfConsumptionPct: number; gapToPerfectForesightPct: number }
  wallTimeS: number
}

type SimSite = {
  name: string
  location: { latitudeDeg: number; longitudeDeg: number; timezone: string }
  devices: { name: string; kind: string; transport: { type: string; port?: number }; ratedW?: number; dcAcRatio?: number; tiltDeg?: number; azimuthDeg?: number }[]
  clock?: unknown
  api?: unknown
}

/**
 * Runs the real controller against the simulator (a separate process, real Modbus) under
 * a virtual clock, and the two references in the same run: rule-based self-consumption
 * (no plan) and a plan made with perfect foresight of load and PV. Each run starts one
 * day early in self-consumption, so the forecast has history and all runs enter the
 * measured period in the same state.
 */
export async function runBacktest(options: BacktestOptions): Promise<BacktestResult> {
  const started = performance.now()
  const cycleS = options.cycleS ?? 30
  const seed = options.seed ?? 1
  const progress = options.onProgress ?? (() => {})
  if (!Number.isInteger(slotMs / (cycleS * 1000))) throw new BacktestError(`cycle of ${cycleS} s does not divide the 15-minute slot`)
  if (!(options.days > 0) || !Number.isInteger(options.days * 96)) throw new BacktestError(`days: expected a positive number of whole 15-minute slots, got ${options.days}`)
  let site: SimSite
  try {
    site = parse(readFileSync(options.siteFile, 'utf8')) as SimSite
  } catch (cause) {
    throw new BacktestError(`${options.siteFile}: cannot read the site file: ${(cause as Error).message}`, { cause })
  }
  const rtu = site.devices?.find((d) => d.transport?.type !== 'tcp')
  if (rtu) throw new BacktestError(`${options.siteFile}: devices.${rtu.name}: backtests run the simulator on loopback TCP; change its transport to tcp`)
  const tariff = options.tariff ?? defaultTariff(site.location.timezone)
  // The same site on free ports, paused, one day before the measured period.
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-backtest-'))
  const simSiteFile = join(dir, 'site.yaml')
  writeFileSync(simSiteFile, stringify({
    ...site,
    clock: { start: new Date(options.fromMs - (options.warmupDays ?? 1) * dayMs).toISOString(), speed: 0 },
    api: { host: '127.0.0.1', port: 0 },
    devices: site.devices.map((d) => ({ ...d, transport: { ...d.transport, port: 0 } })),
  }))
  const inverter = site.devices.find((d) => d.kind === 'inverter')
  const pvSite = inverter
    ? { latitudeDeg: site.location.latitudeDeg, longitudeDeg: site.location.longitudeDeg, tiltDeg: inverter.tiltDeg ?? 20, azimuthDeg: inverter.azimuthDeg ?? 180, peakPowerKw: ((inverter.ratedW ?? 0) * (inverter.dcAcRatio ?? 1.1)) / 1000 }
    : null
  const endMs = options.fromMs + options.days * dayMs
  const common = { ...options, cycleS, seed, tariff, simSiteFile, endMs, pvSite, progress }
  try {
    const selfConsumption = await runOnce('self-consumption', common, null)
    const truth = selfConsumption.slots.filter((s) => s.startMs >= options.fromMs)
    const perfect = await runOnce('perfect-foresight', common, truth)
    const controller = await runOnce('controller', common, null)
    const cost = (r: RunResult) => r.metrics.costAdjustedEur
    return {
      site: site.name,
      from: new Date(options.fromMs).toISOString(),
      days: options.days,
      cycleS,
      seed,
      tariff,
      runs: [controller.result, selfConsumption.result, perfect.result],
      perfectForesightOptimumEur: perfect.optimumEur,
      comparison: {
        savingVsSelfConsumptionEur: round(cost(selfConsumption.result) - cost(controller.result), 3),
        savingVsSelfConsumptionPct: round((100 * (cost(selfConsumption.result) - cost(controller.result))) / Math.abs(cost(selfConsumption.result)), 2),
        gapToPerfectForesightPct: round((100 * (cost(controller.result) - cost(perfect.result))) / Math.abs(cost(perfect.result)), 2),
      },
      wallTimeS: round((performance.now() - started) / 1000, 2),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits

type Common = BacktestOptions & { cycleS: number; seed: number; tariff: Tariff; simSiteFile: string; endMs: number; pvSite: { latitudeDeg: number; longitudeDeg: number; tiltDeg: number; azimuthDeg: number; peakPowerKw: number } | null; progress: (m: string) => void }

async function runOnce(name: RunResult['name'], o: Common, truth: SlotRecord[] | null): Promise<{ result: RunResult; slots: SlotRecord[]; optimumEur: number | null }> {
  const started = performance.now()
  const sim = await spawnSimulator(o.simSiteFile, o.seed)
  const pool = createConnectionPool({ timeoutMs: 2000, retries: 1 })
  try {
    const drivers: DeviceDriver[] = []
    for (const r of sim.ready) drivers.push(await createSunSpecDriver({ name: r.device, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: r.port! }), unitId: r.unitId }))
    const meter = drivers.find((d) => d.meter)
    const batteries = drivers.filter((d) => d.battery)
    if (!meter || batteries.length !== 1) throw new BacktestError(`${o.siteFile}: a backtest needs one meter and one battery; found ${drivers.filter((d) => d.meter).length} meter(s) and ${batteries.length} battery(ies)`)
    const battery = batteries[0]!
    const b = battery.battery!
    const capacityWh = b.capacityWh
    if (!b.maxChargeW || !b.maxDischargeW || !capacityWh) throw new BacktestError(`${battery.name}: the battery does not report its ratings and capacity`)
    const limits: BatteryLimits = {
      maxChargeW: b.maxChargeW,
      maxDischargeW: b.maxDischargeW,
      socMinPct: Math.max(o.socMinPct ?? 10, b.socMinPct ?? 0),
      socMaxPct: Math.min(o.socMaxPct ?? 95, b.socMaxPct ?? 100),
      rampWPerS: Infinity,
    }
    let nowMs = o.fromMs - (o.warmupDays ?? 1) * dayMs
    let plan: Plan | null = null
    let envelopeViolations = 0
    const loop = createControlLoop({
      devices: drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: 3 * o.cycleS * 1000, refreshMs: 20_000 })),
      batteryLimits: { [battery.name]: limits },
      site: { maxImportW: null, maxExportW: null },
      now: () => nowMs,
      plan: () => plan,
      planMaxAgeMs: name === 'perfect-foresight' ? Number.POSITIVE_INFINITY : 2 * slotMs,
    })
    const slots: SlotRecord[] = []
    const measured = new Map<number, { load: number; pv: number }>()
    let acc = { load: 0, pv: 0, battery: 0, n: 0 }
    let counters = await meter.meter!.readMeter()
    let optimumEur: number | null = null
    let plans = 0
    const startState = await sim.state()
    let dischargeAtFrom = startState.energyWh.batteryDischarge
    let pvAtFrom = startState.energyWh.pvWh
    let socAtFrom = startState.devices.find((d) => d.name === battery.name)?.socPct ?? NaN
    let socViolations = 0
    let ratingViolations = 0

    const replan = async () => {
      if (nowMs < o.fromMs || name === 'self-consumption') return
      const socPct = (await battery.battery!.readBattery()).socPct ?? 50
      if (name === 'perfect-foresight') {
        if (plan) return
        plan = await planSchedule(planInput(truth!.map((s) => ({ startMs: s.startMs, loadW: s.loadW, pvW: s.pvW })), socPct), { nowMs })
        optimumEur = plan.expectedCostEur
        plans++
        return
      }
      const horizon = o.horizonSlots ?? 96
      const pv = o.pvSite
        ? forecastPv({ site: o.pvSite, fromMs: nowMs, slotMs, slots: horizon, history: { timesMs: [...measured.keys()].map((t) => t + slotMs / 2), powerKw: [...measured.values()].map((m) => m.pv / 1000) } }).forecast.map((f) => f.powerKw * 1000)
        : new Array<number>(horizon).fill(0)
      const series = Array.from({ length: horizon }, (_, i) => {
        const t = nowMs + i * slotMs
        // Seasonal naive: the same slot yesterday (two days back if yesterday is in the future of the horizon).
        const load = measured.get(t - dayMs)?.load ?? measured.get(t - 2 * dayMs)?.load ?? acc.load / Math.max(1, acc.n)
        return { startMs: t, loadW: load, pvW: pv[i] ?? 0 }
      })
      plan = await planSchedule(planInput(series, socPct), { nowMs })
      plans++
    }
    const planInput = (series: { startMs: number; loadW: number; pvW: number }[], socPct: number) => ({
      startMs: series[0]!.startMs,
      slotDurationMs: slotMs,
      objective: 'cost' as const,
      slots: series.map((s) => ({ loadPowerW: Math.max(0, s.loadW), pvPowerW: Math.max(0, s.pvW), importPriceEurPerKWh: importPriceAt(o.tariff, s.startMs), exportPriceEurPerKWh: o.tariff.exportEurPerKWh })),
      battery: {
        capacityWh, socPct: Math.min(limits.socMaxPct, Math.max(limits.socMinPct, socPct)), minSocPct: limits.socMinPct, maxSocPct: limits.socMaxPct,
        maxChargePowerW: limits.maxChargeW, maxDischargePowerW: limits.maxDischargeW, chargeEfficiency: 0.95, dischargeEfficiency: 0.95,
        degradationCostEurPerKWh: 0.01, targetEndSocPct: Math.max(limits.socMinPct, 30),
      },
      grid: {},
    })

    await replan()
    let slotStart = nowMs
    let lastProgressDay = -1
    while (nowMs < o.endMs) {
      const report = await loop.tick()
      for (const d of report.decisions) if (d.setpointW !== null && (d.setpointW < d.envelope.minW - 1e-6 || d.setpointW > d.envelope.maxW + 1e-6)) envelopeViolations++
      const snap = report.snapshot
      const batteryW = snap.batteries.reduce((s, x) => s + (x.powerW ?? 0), 0)
      if (snap.gridW !== null && snap.pvW !== null) {
        acc.load += snap.gridW + snap.pvW + batteryW
        acc.pv += snap.pvW
        acc.battery += batteryW
        acc.n++
      }
      await sim.advance(o.cycleS)
      nowMs += o.cycleS * 1000
      if ((nowMs - slotStart) % slotMs === 0 && nowMs > slotStart) {
        const next = await meter.meter!.readMeter()
        const state = await sim.state()
        const soc = state.devices.find((d) => d.name === battery.name)?.socPct ?? NaN
        if (soc < limits.socMinPct - 0.5 || soc > limits.socMaxPct + 0.5) socViolations++
        const truthBatteryW = state.devices.find((d) => d.name === battery.name)?.powerW ?? 0
        if (truthBatteryW > limits.maxDischargeW + 1 || truthBatteryW < -limits.maxChargeW - 1) ratingViolations++
        const record: SlotRecord = {
          startMs: slotStart,
          importWh: (next.importWh ?? 0) - (counters.importWh ?? 0),
          exportWh: (next.exportWh ?? 0) - (counters.exportWh ?? 0),
          loadW: acc.load / Math.max(1, acc.n),
          pvW: acc.pv / Math.max(1, acc.n),
          batteryW: acc.battery / Math.max(1, acc.n),
          socPct: soc,
          importPriceEurPerKWh: importPriceAt(o.tariff, slotStart),
          exportPriceEurPerKWh: o.tariff.exportEurPerKWh,
          plannedBatteryW: (plan as Plan | null)?.slots.find((s) => s.startMs === slotStart)?.batteryPowerW ?? null,
        }
        slots.push(record)
        measured.set(slotStart, { load: record.loadW, pv: record.pvW })
        counters = next
        acc = { load: 0, pv: 0, battery: 0, n: 0 }
        slotStart = nowMs
        if (nowMs === o.fromMs) {
          dischargeAtFrom = state.energyWh.batteryDischarge
          pvAtFrom = state.energyWh.pvWh
          socAtFrom = soc
        }
        if (nowMs === o.endMs) {
          const measuredSlots = slots.filter((s) => s.startMs >= o.fromMs)
          const pvWh = state.energyWh.pvWh - pvAtFrom
          const exportWh = measuredSlots.reduce((s, x) => s + x.exportWh, 0)
          const costEur = measuredSlots.reduce((s, x) => s + (x.importWh * x.importPriceEurPerKWh - x.exportWh * x.exportPriceEurPerKWh) / 1000, 0)
          const meanImportPrice = measuredSlots.reduce((s, x) => s + x.importPriceEurPerKWh, 0) / measuredSlots.length
          const storedDeltaKWh = ((soc - socAtFrom) / 100) * (capacityWh / 1000)
          const metrics: RunMetrics = {
            costEur: round(costEur, 3),
            costAdjustedEur: round(costEur - storedDeltaKWh * meanImportPrice * 0.95, 3),
            startSocPct: round(socAtFrom, 1),
            endSocPct: round(soc, 1),
            importKWh: round(measuredSlots.reduce((s, x) => s + x.importWh, 0) / 1000, 3),
            exportKWh: round(exportWh / 1000, 3),
            peakImportW: Math.round(Math.max(0, ...measuredSlots.map((x) => (x.importWh * 3_600_000) / slotMs))),
            selfConsumptionPct: round(pvWh > 0 ? (100 * (pvWh - exportWh)) / pvWh : 100, 2),
            cycles: round((state.energyWh.batteryDischarge - dischargeAtFrom) / capacityWh, 3),
            violations: { soc: socViolations, rating: ratingViolations, envelope: envelopeViolations },
          }
          const result: RunResult = { name, metrics, slots: measuredSlots, plans, wallTimeS: round((performance.now() - started) / 1000, 2) }
          o.progress(`backtest: ${name}: cost ${metrics.costEur} EUR, import ${metrics.importKWh} kWh, export ${metrics.exportKWh} kWh, ${result.wallTimeS} s`)
          return { result, slots, optimumEur }
        }
        await replan()
      }
      const day = Math.floor((nowMs - o.fromMs) / dayMs)
      if (day !== lastProgressDay && day >= 0 && nowMs < o.endMs) {
        lastProgressDay = day
        o.progress(`backtest: ${name}: day ${day + 1}/${o.days}`)
      }
    }
    throw new BacktestError('the run ended off a slot boundary')
  } finally {
    await pool.close()
    await sim.stop()
  }
}
