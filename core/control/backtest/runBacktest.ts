import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { DeviceDriver } from '../../devices/capabilities.ts'
import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { parseYamlText } from '../../devices/site/parseYamlText.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { createSiteLoadForecaster, type SiteLoadForecaster } from '../../forecast/createSiteLoadForecaster.ts'
import { forecastPv } from '../../forecast/forecastPv.ts'
import { forecastPvPersistence } from '../../forecast/forecastPvPersistence.ts'
import { readLoadModel } from '../../forecast/readLoadModel.ts'
import { selectBackend } from '../../forecast/selectBackend.ts'
import { planSchedule, type Plan } from '../../schedule/planSchedule.ts'
import { createControlLoop } from '../createControlLoop.ts'
import type { BatteryLimits } from '../decideSetpoints.ts'
import { BacktestError } from './backtestError.ts'
import { measureSiteHistory, type MeasuredSlot } from './measureSiteHistory.ts'
import { prepareSiteLoadModel, type PreparedSiteLoadModel } from './prepareSiteLoadModel.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'
import { defaultTariff, importPriceAt, type Tariff } from '../timeOfUseTariff.ts'

export { BacktestError }

const dayMs = 86_400_000
const slotMs = 900_000
// Chosen on 2013-02-04..10 (core/control/backtest/NOTES.md), not on the reported week.
const defaultPvPersistenceHours = 6
const defaultPvClimatologyQuantile = 0.67
const defaultExportTieBreakEurPerKWh = 0.005

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
  /** Soft SoC goal at the end of each controller plan's horizon, % (default 30); null sets none. The perfect-foresight plan keeps 30 %. */
  endSocTargetPct?: number | null
  /** The site's past load as a CSV: the controller's load model is trained (in a worker, cached) on its rows before `fromMs`. */
  historyFile?: string
  /** A trained load model directory to use instead of training; refused when its data overlaps the backtested days. */
  modelDir?: string
  /** Days of measured history before the warm-up, read by a fast pass over the simulator (default with a load model: 8 days less the warm-up, else 0). */
  historyDays?: number
  /** PV forecast of the controller: 'persistence' (default; forecastPvPersistence) or 'clear-sky-scaled' (forecastPv, clear sky times the last 3 days' ratio). */
  pvForecast?: 'persistence' | 'clear-sky-scaled'
  /** e-folding time of the current clearness in the persistence PV forecast (default 6). */
  pvPersistenceHours?: number
  /** Plan PV on this quantile of the last week's hourly clearness beyond today's weather (default 0.67; null: the mean). */
  pvClimatologyQuantile?: number | null
  /**
   * The controller's plans see the export price this much lower in the first slot, rising
   * linearly to the real price at the horizon's end (default 0.005). The cost MILP is often
   * indifferent between storing PV surplus now and exporting it now to store it later; under
   * forecast error, storing first is the robust choice, and this breaks the tie that way.
   */
  exportTieBreakEurPerKWh?: number
  /** Diagnostics: the controller plans with the truth (the self-consumption run's slots, as perfect foresight does) instead of forecasting load and/or PV. */
  oracle?: { load?: boolean; pv?: boolean }
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

/** How the controller run forecast and planned. */
export type ControllerSetup = {
  loadForecast: 'oracle' | 'model' | 'seasonal-naive'
  pvForecast: 'oracle' | 'persistence' | 'clear-sky-scaled'
  pvPersistenceHours: number | null
  pvClimatologyQuantile: number | null
  horizonSlots: number
  endSocTargetPct: number | null
  exportTieBreakEurPerKWh: number
  model: { dir: string; cached: boolean; trainedFromIso: string; trainedToIso: string; trainingWallTimeS: number } | null
  historyPass: { days: number; slots: number; wallTimeS: number } | null
  /** How many plans used each load forecast method, and the distinct reasons given for falling back. */
  loadForecastMethods: Record<string, number>
  loadForecastReasons: string[]
}

export type BacktestResult = {
  site: string
  from: string
  days: number
  cycleS: number
  seed: number
  tariff: Tariff
  runs: RunResult[]
  controller: ControllerSetup
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
 * day early in self-consumption, so all runs enter the measured period in the same state;
 * with a load model, a fast pass over the simulator first measures the week before that,
 * so the model's lags are the site's own meters, and the model is trained (in a worker,
 * while the references run) only on history before `fromMs`.
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
    // Guarded like every site file: size, nesting depth and alias bombs are refused by name.
    site = parseYamlText(readFileSync(options.siteFile, 'utf8')) as SimSite
  } catch (cause) {
    throw new BacktestError(`${options.siteFile}: cannot read the site file: ${(cause as Error).message}`, { cause })
  }
  const rtu = site.devices?.find((d) => d.transport?.type !== 'tcp')
  if (rtu) throw new BacktestError(`${options.siteFile}: devices.${rtu.name}: backtests run the simulator on loopback TCP; change its transport to tcp`)
  const tariff = options.tariff ?? defaultTariff(site.location.timezone)
  const inverter = site.devices.find((d) => d.kind === 'inverter')
  const pvSite = inverter
    ? { latitudeDeg: site.location.latitudeDeg, longitudeDeg: site.location.longitudeDeg, tiltDeg: inverter.tiltDeg ?? 20, azimuthDeg: inverter.azimuthDeg ?? 180, peakPowerKw: ((inverter.ratedW ?? 0) * (inverter.dcAcRatio ?? 1.1)) / 1000 }
    : null
  const endMs = options.fromMs + options.days * dayMs
  const warmupDays = options.warmupDays ?? 1
  // A given model is checked before anything runs, so a wrong one fails at once.
  const givenModel = options.modelDir !== undefined && !options.oracle?.load ? await readModelDir(options.modelDir, options.fromMs, endMs, progress) : null
  const oracle = { load: options.oracle?.load ?? false, pv: options.oracle?.pv ?? false }
  const useModel = !oracle.load && (options.historyFile !== undefined || options.modelDir !== undefined)
  // The model's lags need 7 days + 1 slot of measured load at --from: the pass and the warm-up make 8.
  const historyDays = options.historyDays ?? (useModel ? Math.max(0, 8 - warmupDays) : 0)
  const horizonSlots = options.horizonSlots ?? 96
  const endSocTargetPct = options.endSocTargetPct === undefined ? 30 : options.endSocTargetPct
  const setup: ControllerSetup = {
    loadForecast: oracle.load ? 'oracle' : useModel ? 'model' : 'seasonal-naive',
    pvForecast: oracle.pv ? 'oracle' : (options.pvForecast ?? 'persistence'),
    pvPersistenceHours: !oracle.pv && (options.pvForecast ?? 'persistence') === 'persistence' ? (options.pvPersistenceHours ?? defaultPvPersistenceHours) : null,
    pvClimatologyQuantile: options.pvClimatologyQuantile === undefined ? defaultPvClimatologyQuantile : options.pvClimatologyQuantile,
    horizonSlots,
    endSocTargetPct,
    exportTieBreakEurPerKWh: options.exportTieBreakEurPerKWh ?? defaultExportTieBreakEurPerKWh,
    model: null,
    historyPass: null,
    loadForecastMethods: {},
    loadForecastReasons: [],
  }
  // The same site on free ports, paused: the runs start one warm-up before the measured period.
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-backtest-'))
  const writeSimSite = (file: string, startMs: number) =>
    writeFileSync(file, stringify({
      ...site,
      clock: { start: new Date(startMs).toISOString(), speed: 0 },
      api: { host: '127.0.0.1', port: 0 },
      devices: site.devices.map((d) => ({ ...d, transport: { ...d.transport, port: 0 } })),
    }))
  const simSiteFile = join(dir, 'site.yaml')
  writeSimSite(simSiteFile, options.fromMs - warmupDays * dayMs)
  // Training runs in a worker while the references run; only the controller run waits for it.
  const modelPromise: Promise<PreparedSiteLoadModel | null> = !useModel
    ? Promise.resolve(null)
    : givenModel
      ? Promise.resolve(givenModel)
      : prepareSiteLoadModel({ historyFile: options.historyFile!, cutoffMs: options.fromMs, timeZone: site.location.timezone, onProgress: progress })
  // Keep an early training failure from surfacing as an unhandled rejection before it is awaited.
  modelPromise.catch(() => undefined)
  try {
    let history: MeasuredSlot[] = []
    if (historyDays > 0) {
      const passStarted = performance.now()
      const historyFrom = options.fromMs - (warmupDays + historyDays) * dayMs
      const historySiteFile = join(dir, 'history-site.yaml')
      writeSimSite(historySiteFile, historyFrom)
      progress(`backtest: measuring ${historyDays} days of site history before the warm-up`)
      history = await measureSiteHistory({ simSiteFile: historySiteFile, seed, fromMs: historyFrom, toMs: options.fromMs - warmupDays * dayMs, slotMs })
      setup.historyPass = { days: historyDays, slots: history.length, wallTimeS: round((performance.now() - passStarted) / 1000, 2) }
    }
    const common = { ...options, cycleS, seed, tariff, simSiteFile, endMs, pvSite, progress, history, setup, horizonSlots, endSocTargetPct, oracle }
    const selfConsumption = await runOnce('self-consumption', common, null)
    const truth = selfConsumption.slots.filter((s) => s.startMs >= options.fromMs)
    const perfect = await runOnce('perfect-foresight', common, truth)
    const prepared = await modelPromise
    let forecaster: SiteLoadForecaster | null = null
    if (prepared) {
      setup.model = { dir: prepared.dir, cached: prepared.cached, trainedFromIso: prepared.metadata.training.fromIso, trainedToIso: prepared.metadata.validation.toIso, trainingWallTimeS: prepared.trainingWallTimeS }
      forecaster = createSiteLoadForecaster({ timeZone: site.location.timezone, model: prepared, holidays: prepared.holidays })
    } else if (!oracle.load) forecaster = createSiteLoadForecaster({ timeZone: site.location.timezone })
    const controller = await runOnce('controller', { ...common, forecaster, oracleTruth: oracle.load || oracle.pv ? new Map(truth.map((s) => [s.startMs, s])) : null }, null)
    const cost = (r: RunResult) => r.metrics.costAdjustedEur
    return {
      site: site.name,
      from: new Date(options.fromMs).toISOString(),
      days: options.days,
      cycleS,
      seed,
      tariff,
      runs: [controller.result, selfConsumption.result, perfect.result],
      controller: setup,
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

/** A model directory given by hand: refused when the data it was trained or validated on reaches into the backtested days. */
async function readModelDir(dir: string, fromMs: number, endMs: number, progress: (m: string) => void): Promise<PreparedSiteLoadModel> {
  await selectBackend('auto', (line) => progress(`backtest: ${line}`))
  const { model, metadata } = await readLoadModel(dir)
  const seenFrom = Date.parse(metadata.training.fromIso)
  const seenTo = Math.max(Date.parse(metadata.training.toIso), Date.parse(metadata.validation.toIso))
  if (seenFrom < endMs && seenTo > fromMs) {
    throw new BacktestError(`--model: ${dir} was trained on data from ${metadata.training.fromIso} to ${new Date(seenTo).toISOString()}, which covers the backtested days; give --history FILE to train on the site's load before --from instead`)
  }
  return { model, metadata, dir, cached: true, trainingWallTimeS: 0, holidays: undefined }
}

type Common = BacktestOptions & {
  cycleS: number
  seed: number
  tariff: Tariff
  simSiteFile: string
  endMs: number
  pvSite: { latitudeDeg: number; longitudeDeg: number; tiltDeg: number; azimuthDeg: number; peakPowerKw: number } | null
  progress: (m: string) => void
  history: MeasuredSlot[]
  setup: ControllerSetup
  horizonSlots: number
  endSocTargetPct: number | null
  forecaster?: SiteLoadForecaster | null
  oracleTruth?: Map<number, SlotRecord> | null
  oracle: { load: boolean; pv: boolean }
}

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
        plan = await planSchedule(planInput(truth!.map((s) => ({ startMs: s.startMs, loadW: s.loadW, pvW: s.pvW })), socPct, 30), { nowMs })
        optimumEur = plan.expectedCostEur
        plans++
        return
      }
      const horizon = o.horizonSlots
      // The site's own measured past: the history pass, then this run's warm-up and measured slots.
      const past = [...o.history, ...[...measured].map(([startMs, m]) => ({ startMs, loadW: m.load, pvW: m.pv }))].filter((h) => h.startMs >= nowMs - 9 * dayMs)
      const pvHistory = { timesMs: past.map((h) => h.startMs + slotMs / 2), powerKw: past.map((h) => h.pvW / 1000) }
      const pv = !o.pvSite
        ? new Array<number>(horizon).fill(0)
        : o.setup.pvPersistenceHours !== null
          ? forecastPvPersistence({ site: o.pvSite, fromMs: nowMs, slotMs, slots: horizon, history: pvHistory, persistenceMs: o.setup.pvPersistenceHours * 3_600_000, climatologyQuantile: o.setup.pvClimatologyQuantile ?? undefined }).powerKw.map((p) => p * 1000)
          : forecastPv({ site: o.pvSite, fromMs: nowMs, slotMs, slots: horizon, history: pvHistory }).forecast.map((f) => f.powerKw * 1000)
      let load: number[] | null = null
      if (o.forecaster) {
        const f = o.forecaster.forecast({ history: past, fromMs: nowMs, slotMs, slots: horizon })
        load = f.loadW
        o.setup.loadForecastMethods[f.method] = (o.setup.loadForecastMethods[f.method] ?? 0) + 1
        if (f.reason && !o.setup.loadForecastReasons.includes(f.reason) && o.setup.loadForecastReasons.length < 5) o.setup.loadForecastReasons.push(f.reason)
      }
      const series = Array.from({ length: horizon }, (_, i) => {
        const t = nowMs + i * slotMs
        // Oracle diagnostics read the truth; past the measured period there is none, so the forecast stands in.
        const truth = o.oracleTruth?.get(t)
        const loadW = o.oracle.load && truth ? truth.loadW : (load?.[i] ?? truth?.loadW ?? 0)
        const pvW = o.oracle.pv && truth ? truth.pvW : (pv[i] ?? 0)
        return { startMs: t, loadW, pvW }
      })
      const tieBreak = o.setup.exportTieBreakEurPerKWh
      plan = await planSchedule(planInput(series, socPct, o.endSocTargetPct, (i) => tieBreak * (1 - i / Math.max(1, horizon - 1))), { nowMs })
      plans++
    }
    const planInput = (series: { startMs: number; loadW: number; pvW: number }[], socPct: number, endSocTargetPct: number | null, exportDiscount: (slot: number) => number = () => 0) => ({
      startMs: series[0]!.startMs,
      slotDurationMs: slotMs,
      objective: 'cost' as const,
      slots: series.map((s, i) => ({ loadPowerW: Math.max(0, s.loadW), pvPowerW: Math.max(0, s.pvW), importPriceEurPerKWh: importPriceAt(o.tariff, s.startMs), exportPriceEurPerKWh: o.tariff.exportEurPerKWh - exportDiscount(i) })),
      battery: {
        capacityWh, socPct: Math.min(limits.socMaxPct, Math.max(limits.socMinPct, socPct)), minSocPct: limits.socMinPct, maxSocPct: limits.socMaxPct,
        maxChargePowerW: limits.maxChargeW, maxDischargePowerW: limits.maxDischargeW, chargeEfficiency: 0.95, dischargeEfficiency: 0.95,
        degradationCostEurPerKWh: 0.01,
        ...(endSocTargetPct !== null && { targetEndSocPct: Math.max(limits.socMinPct, endSocTargetPct) }),
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
