import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseYamlText } from '../../devices/site/parseYamlText.ts'
import { createSiteLoadForecaster, type SiteLoadForecaster } from '../../forecast/createSiteLoadForecaster.ts'
import { readLoadModel } from '../../forecast/readLoadModel.ts'
import { selectBackend } from '../../forecast/selectBackend.ts'
import { createPlanWorker, type PlanWorker } from '../../schedule/createPlanWorker.ts'
import type { MeasuredSlot } from '../../simulator/measureHistoryOnDevices.ts'
import { openSiteDevices, type OpenedDevices } from '../../simulator/openSiteDevices.ts'
import { simulatorSiteFile, type SimulatorSite } from '../../simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'
import { steppedSimulatorClock } from '../../simulator/steppedSimulatorClock.ts'
import { writeSteppedSiteFile } from '../../simulator/writeSteppedSiteFile.ts'
import { createForecastPlanner, pvArrayOf, weatherSourceOf } from '../createForecastPlanner.ts'
import { createOraclePlanner } from '../createOraclePlanner.ts'
import { createSiteRuntime, siteRuntimeDefaults, type SiteRuntime } from '../createSiteRuntime.ts'
import { defaultTariff, importPriceAt, type Tariff } from '../timeOfUseTariff.ts'
import { BacktestError } from './BacktestError.ts'
import { measureSiteHistory } from './measureSiteHistory.ts'
import { prepareSiteLoadModel, type PreparedSiteLoadModel } from './prepareSiteLoadModel.ts'
import { replacementPrice } from './replacementPrice.ts'

export { BacktestError }

const dayMs = 86_400_000
const slotMs = 900_000
/** The battery's efficiency each way, as the plans assume it (buildPlanInput) and the demo site simulates it. */
const batteryEfficiency = 0.95
// Serve's settings, chosen on 2013-02-04..10 (core/control/backtest/NOTES.md), not on the reported week.
const defaultPvPersistenceHours = siteRuntimeDefaults.pvForecast.persistenceMs / 3_600_000
const defaultPvClimatologyQuantile = siteRuntimeDefaults.pvForecast.climatologyQuantile
const defaultExportTieBreakEurPerKWh = siteRuntimeDefaults.exportTieBreakEurPerKWh

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
  /** Train the model on the history before this instant instead of `fromMs` (at or before it): a multi-window backtest trains one model for all its windows. */
  modelCutoffMs?: number
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
  /**
   * The controller's PV forecast also uses the simulator's weather forecast (its Open-Meteo-shaped
   * endpoint, seeded error growing with lead time), as a site with `control.weather` does
   * (default true: it paid on the choice set, NOTES.md section 7); false: measured production only.
   */
  weather?: boolean
  /** With the weather: plan PV on the mean of the forecasts issued in this many hours before the newest (default siteRuntimeDefaults.weatherIssuesMs; 0: the newest alone). */
  weatherIssuesHours?: number
  /** Keep SoC headroom against the load forecast's P90 at peak prices (buildPlanInput's loadP90Headroom; default: serve's). */
  loadP90Headroom?: boolean
  /** Plan PV on this quantile of its forecast band (buildPlanInput's pvPlanQuantile; default 0.5, the P50). */
  pvPlanQuantile?: number
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
  /** When the plan in force at the slot's end was made (null: none). */
  planCreatedAtMs: number | null
  /** Mean of the battery setpoints the loop decided in the slot's cycles (null: none commanded). */
  setpointW: number | null
  /** What the plan in force at the slot's end forecast for it (load and PV, W) and its SoC at the slot's end, % (null: no plan). */
  planned?: { loadW: number; pvW: number; socPct: number | null } | null
  /** The first forecast of the slot a plan saw (up to a horizon ahead: the day-ahead view), W (null: no plan saw it). */
  firstForecast?: { loadW: number; pvW: number; leadSlots: number } | null
}

export type RunMetrics = {
  /** What the grid bill says: import at the import price minus export at the export price. */
  costEur: number
  /**
   * The bill less the value of the energy left in the battery beyond what it started with, so
   * runs that end fuller or emptier compare fairly. That energy is valued at what putting it
   * there would cost next: the cheapest import price of the day after the period, over the
   * charge efficiency. (Valued at the period's mean import price, as `costAdjustedAtMeanPriceEur`
   * does, a run that buys at the night price in the period's last hour to end fuller earns the
   * difference without using the energy: perfect foresight's 30 % end goal did, NOTES.md section 8.)
   */
  costAdjustedEur: number
  /** The same adjustment at the period's mean import price times the discharge efficiency (before NOTES.md section 8). */
  costAdjustedAtMeanPriceEur: number
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
  loadP90Headroom: boolean
  pvPlanQuantile: number
  weather: boolean
  /** Hours of weather issues averaged (null without the weather). */
  weatherIssuesHours: number | null
  /** How many controller plans used each PV forecast: 'clear-sky-weather', or the fallback without it. */
  pvForecastMethods: Record<string, number>
  /** Controller plans with a slot that keeps (or falls short of) headroom against the load P90. */
  plansWithLoadHeadroom: number
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

type SimSite = SimulatorSite & Record<string, unknown>

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
  const endMs = options.fromMs + options.days * dayMs
  const warmupDays = options.warmupDays ?? 1
  const modelCutoffMs = options.modelCutoffMs ?? options.fromMs
  if (!(modelCutoffMs <= options.fromMs)) throw new BacktestError(`--model-cutoff: ${new Date(modelCutoffMs).toISOString()} is after --from (${new Date(options.fromMs).toISOString()}); the model would see the backtested days`)
  // A given model is checked before anything runs, so a wrong one fails at once.
  const givenModel = options.modelDir !== undefined && !options.oracle?.load ? await readModelDir(options.modelDir, options.fromMs, endMs, progress) : null
  const oracle = { load: options.oracle?.load ?? false, pv: options.oracle?.pv ?? false }
  const useModel = !oracle.load && (options.historyFile !== undefined || options.modelDir !== undefined)
  // The model's lags need 7 days + 1 slot of measured load at --from: the pass and the warm-up make 8.
  const historyDays = options.historyDays ?? (useModel ? Math.max(0, 8 - warmupDays) : 0)
  const horizonSlots = options.horizonSlots ?? siteRuntimeDefaults.horizonSlots
  const endSocTargetPct = options.endSocTargetPct === undefined ? 30 : options.endSocTargetPct
  const setup: ControllerSetup = {
    loadForecast: oracle.load ? 'oracle' : useModel ? 'model' : 'seasonal-naive',
    pvForecast: oracle.pv ? 'oracle' : (options.pvForecast ?? 'persistence'),
    pvPersistenceHours: !oracle.pv && (options.pvForecast ?? 'persistence') === 'persistence' ? (options.pvPersistenceHours ?? defaultPvPersistenceHours) : null,
    pvClimatologyQuantile: options.pvClimatologyQuantile === undefined ? defaultPvClimatologyQuantile : options.pvClimatologyQuantile,
    horizonSlots,
    endSocTargetPct,
    exportTieBreakEurPerKWh: options.exportTieBreakEurPerKWh ?? defaultExportTieBreakEurPerKWh,
    loadP90Headroom: options.loadP90Headroom ?? false,
    pvPlanQuantile: options.pvPlanQuantile ?? 0.5,
    weather: !oracle.pv && (options.weather ?? true),
    weatherIssuesHours: !oracle.pv && (options.weather ?? true) ? (options.weatherIssuesHours ?? siteRuntimeDefaults.weatherIssuesMs / 3_600_000) : null,
    pvForecastMethods: {},
    plansWithLoadHeadroom: 0,
    model: null,
    historyPass: null,
    loadForecastMethods: {},
    loadForecastReasons: [],
  }
  // The same site on free ports, paused: the runs start one warm-up before the measured period.
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-backtest-'))
  const writeSimSite = (file: string, startMs: number) => writeSteppedSiteFile(file, site, startMs)
  const simSiteFile = join(dir, 'site.yaml')
  writeSimSite(simSiteFile, options.fromMs - warmupDays * dayMs)
  // Training runs in a worker while the references run; only the controller run waits for it.
  const modelPromise: Promise<PreparedSiteLoadModel | null> = !useModel
    ? Promise.resolve(null)
    : givenModel
      ? Promise.resolve(givenModel)
      : prepareSiteLoadModel({ historyFile: options.historyFile!, cutoffMs: modelCutoffMs, timeZone: site.location.timezone, onProgress: progress })
  // Keep an early training failure from surfacing as an unhandled rejection before it is awaited.
  modelPromise.catch(() => undefined)
  // One plan worker (HiGHS kept warm) for the three runs.
  const solver = createPlanWorker()
  try {
    let history: MeasuredSlot[] = []
    if (historyDays > 0) {
      const passStarted = performance.now()
      const historyFrom = options.fromMs - (warmupDays + historyDays) * dayMs
      const historySiteFile = join(dir, 'history-site.yaml')
      writeSimSite(historySiteFile, historyFrom)
      progress(`backtest: measuring ${historyDays} days of site history before the warm-up`)
      history = await measureSiteHistory({ simSiteFile: historySiteFile, simSite: site, seed, fromMs: historyFrom, toMs: options.fromMs - warmupDays * dayMs, slotMs })
      setup.historyPass = { days: historyDays, slots: history.length, wallTimeS: round((performance.now() - passStarted) / 1000, 2) }
    }
    const common: Common = { ...options, cycleS, seed, tariff, simSite: site, simSiteFile, endMs, progress, history, setup, horizonSlots, endSocTargetPct, oracle, solver }
    const selfConsumption = await runOnce('self-consumption', common, null)
    const truth = selfConsumption.slots.filter((s) => s.startMs >= options.fromMs)
    const perfect = await runOnce('perfect-foresight', common, truth)
    const prepared = await modelPromise
    let forecaster: SiteLoadForecaster | null = null
    if (prepared) {
      setup.model = { dir: prepared.dir, cached: prepared.cached, trainedFromIso: prepared.metadata.training.fromIso, trainedToIso: prepared.metadata.validation.toIso, trainingWallTimeS: prepared.trainingWallTimeS }
      forecaster = createSiteLoadForecaster({ timeZone: site.location.timezone, model: prepared, holidays: prepared.holidays })
    } else if (!oracle.load) forecaster = createSiteLoadForecaster({ timeZone: site.location.timezone })
    const controller = await runOnce('controller', { ...common, forecaster, modelSource: prepared?.metadata.training.source ?? null, oracleTruth: oracle.load || oracle.pv ? new Map(truth.map((s) => [s.startMs, s])) : null }, null)
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
    await solver.close()
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
  simSite: SimulatorSite
  simSiteFile: string
  endMs: number
  progress: (m: string) => void
  history: MeasuredSlot[]
  setup: ControllerSetup
  horizonSlots: number
  endSocTargetPct: number | null
  forecaster?: SiteLoadForecaster | null
  modelSource?: string | null
  oracleTruth?: Map<number, SlotRecord> | null
  oracle: { load: boolean; pv: boolean }
  solver: PlanWorker
}

/**
 * One run: the site runtime `gridmesh serve` runs (createSiteRuntime), on the simulator's
 * devices and a clock stepped with the simulator's. The controller plans as serve does
 * (every slot, and when the SoC strays; planSettings and planner as configured); perfect
 * foresight plans once with the truth; self-consumption never plans.
 */
async function runOnce(name: RunResult['name'], o: Common, truth: SlotRecord[] | null): Promise<{ result: RunResult; slots: SlotRecord[]; optimumEur: number | null }> {
  const started = performance.now()
  const sim = await spawnSimulator(o.simSiteFile, o.seed)
  let devices: OpenedDevices | null = null
  let runtime: SiteRuntime | null = null
  try {
    const site = simulatorSiteFile({ sim: o.simSite, ready: sim.ready, control: { battery: { socMinPct: o.socMinPct ?? 10, socMaxPct: o.socMaxPct ?? 95 } }, ...(name === 'controller' && o.setup.weather && { apiUrl: sim.apiUrl }) })
    devices = await openSiteDevices(site)
    const drivers = devices.drivers
    const meter = drivers.find((d) => d.meter)
    const batteries = drivers.filter((d) => d.battery)
    if (!meter || batteries.length !== 1) throw new BacktestError(`${o.siteFile}: a backtest needs one meter and one battery; found ${drivers.filter((d) => d.meter).length} meter(s) and ${batteries.length} battery(ies)`)
    const battery = batteries[0]!
    const b = battery.battery!
    const capacityWh = b.capacityWh
    if (!b.maxChargeW || !b.maxDischargeW || !capacityWh) throw new BacktestError(`${battery.name}: the battery does not report its ratings and capacity`)
    const startMs = o.fromMs - (o.warmupDays ?? 1) * dayMs
    const clock = steppedSimulatorClock(sim, startMs)
    const s = o.setup
    const planner =
      name === 'self-consumption'
        ? null
        : name === 'perfect-foresight'
          ? createOraclePlanner(truth!.map((t) => ({ startMs: t.startMs, loadW: t.loadW, pvW: t.pvW })))
          : createForecastPlanner({
              forecaster: o.forecaster ?? createSiteLoadForecaster({ timeZone: o.simSite.location.timezone }),
              modelSource: () => o.modelSource ?? null,
              pvArray: pvArrayOf(site.control!),
              pv: s.pvPersistenceHours !== null ? { kind: 'persistence', persistenceMs: s.pvPersistenceHours * 3_600_000, climatologyQuantile: s.pvClimatologyQuantile } : { kind: 'clear-sky-scaled' },
              horizonSlots: o.horizonSlots,
              weather: weatherSourceOf(site.control!),
              weatherIssuesMs: (s.weatherIssuesHours ?? 0) * 3_600_000,
              oracle: o.oracleTruth ? { truth: o.oracleTruth, load: o.oracle.load, pv: o.oracle.pv } : null,
            })
    const rt = createSiteRuntime({
      name: site.name,
      timeZone: o.simSite.location.timezone,
      drivers,
      clock,
      control: site.control!,
      tariff: o.tariff,
      planSettings: name === 'perfect-foresight' ? { targetEndSocPct: 30, exportTieBreakEurPerKWh: 0 } : { targetEndSocPct: o.endSocTargetPct, exportTieBreakEurPerKWh: s.exportTieBreakEurPerKWh, loadP90Headroom: s.loadP90Headroom, pvPlanQuantile: s.pvPlanQuantile },
      planPolicy: name === 'perfect-foresight' ? { kind: 'once', fromMs: o.fromMs } : name === 'controller' ? { kind: 'serve', fromMs: o.fromMs } : { kind: 'manual' },
      planner,
      solver: o.solver,
      history: name === 'controller' ? o.history : [],
      staleAfterMs: 3 * o.cycleS * 1000,
      refreshMs: 20_000,
      ...(name === 'perfect-foresight' && { planMaxAgeMs: Number.POSITIVE_INFINITY }),
    })
    runtime = rt
    const limits = rt.batteryLimits[battery.name]!
    let envelopeViolations = 0
    let optimumEur: number | null = null
    let setpoints = { sum: 0, n: 0 }
    // Diagnostics: the earliest forecast of each slot (what a plan first believed of it).
    const firstForecast = new Map<number, { loadW: number; pvW: number; leadSlots: number }>()
    rt.subscribe((e) => {
      if (e.type === 'cycle') {
        for (const d of e.report.decisions) {
          if (d.setpointW === null) continue
          if (d.setpointW < d.envelope.minW - 1e-6 || d.setpointW > d.envelope.maxW + 1e-6) envelopeViolations++
          setpoints.sum += d.setpointW
          setpoints.n++
        }
      } else if (e.type === 'plan') {
        optimumEur ??= e.plan.expectedCostEur
        if (name === 'controller') e.plan.slots.forEach((x, k) => firstForecast.has(x.startMs) || firstForecast.set(x.startMs, { loadW: Math.round(x.loadPowerW), pvW: Math.round(x.pvPowerW + x.pvCurtailedW), leadSlots: k }))
        if (name === 'controller' && e.plan.slots.some((x) => x.reasons?.some((r) => r.startsWith('load P90')))) s.plansWithLoadHeadroom++
      }
      else if (e.type === 'forecast' && name === 'controller' && e.method !== 'oracle') {
        s.loadForecastMethods[e.method] = (s.loadForecastMethods[e.method] ?? 0) + 1
        s.pvForecastMethods[e.pv.model] = (s.pvForecastMethods[e.pv.model] ?? 0) + 1
        if (e.reason && !s.loadForecastReasons.includes(e.reason) && s.loadForecastReasons.length < 5) s.loadForecastReasons.push(e.reason)
      }
    })
    const slots: SlotRecord[] = []
    let counters = await meter.meter!.readMeter()
    const startState = await sim.state()
    let dischargeAtFrom = startState.energyWh.batteryDischarge
    let pvAtFrom = startState.energyWh.pvWh
    let socAtFrom = startState.devices.find((d) => d.name === battery.name)?.socPct ?? NaN
    let socViolations = 0
    let ratingViolations = 0
    let lastProgressDay = -1
    for (let slotStart = startMs; slotStart < o.endMs; slotStart += slotMs) {
      const day = Math.floor((slotStart - o.fromMs) / dayMs)
      if (day !== lastProgressDay && day >= 0) {
        lastProgressDay = day
        o.progress(`backtest: ${name}: day ${day + 1}/${o.days}`)
      }
      await rt.runTo(slotStart + slotMs, o.cycleS)
      const next = await meter.meter!.readMeter()
      const state = await sim.state()
      const soc = state.devices.find((d) => d.name === battery.name)?.socPct ?? NaN
      if (soc < limits.socMinPct - 0.5 || soc > limits.socMaxPct + 0.5) socViolations++
      const truthBatteryW = state.devices.find((d) => d.name === battery.name)?.powerW ?? 0
      if (truthBatteryW > limits.maxDischargeW + 1 || truthBatteryW < -limits.maxChargeW - 1) ratingViolations++
      // The slot just run is the runtime's open slot: the next cycle closes it.
      const means = rt.slotHistory.open()
      const plan = rt.plan()
      const plannedSlot = plan?.slots.find((x) => x.startMs === slotStart)
      const record: SlotRecord = {
        startMs: slotStart,
        importWh: (next.importWh ?? 0) - (counters.importWh ?? 0),
        exportWh: (next.exportWh ?? 0) - (counters.exportWh ?? 0),
        loadW: means?.loadW ?? 0,
        pvW: means?.pvW ?? 0,
        batteryW: means?.batteryW ?? 0,
        socPct: soc,
        importPriceEurPerKWh: importPriceAt(o.tariff, slotStart),
        exportPriceEurPerKWh: o.tariff.exportEurPerKWh,
        plannedBatteryW: plannedSlot?.batteryPowerW ?? null,
        planCreatedAtMs: plan?.createdAtMs ?? null,
        setpointW: setpoints.n ? setpoints.sum / setpoints.n : null,
        ...(name === 'controller' && {
          planned: plannedSlot ? { loadW: Math.round(plannedSlot.loadPowerW), pvW: Math.round(plannedSlot.pvPowerW + plannedSlot.pvCurtailedW), socPct: plannedSlot.socPct } : null,
          firstForecast: firstForecast.get(slotStart) ?? null,
        }),
      }
      slots.push(record)
      setpoints = { sum: 0, n: 0 }
      counters = next
      if (slotStart + slotMs === o.fromMs) {
        dischargeAtFrom = state.energyWh.batteryDischarge
        pvAtFrom = state.energyWh.pvWh
        socAtFrom = soc
      }
      if (slotStart + slotMs === o.endMs) {
        const measuredSlots = slots.filter((x) => x.startMs >= o.fromMs)
        const pvWh = state.energyWh.pvWh - pvAtFrom
        const exportWh = measuredSlots.reduce((sum, x) => sum + x.exportWh, 0)
        const costEur = measuredSlots.reduce((sum, x) => sum + (x.importWh * x.importPriceEurPerKWh - x.exportWh * x.exportPriceEurPerKWh) / 1000, 0)
        const meanImportPrice = measuredSlots.reduce((sum, x) => sum + x.importPriceEurPerKWh, 0) / measuredSlots.length
                const storedDeltaKWh = ((soc - socAtFrom) / 100) * (capacityWh / 1000)
        const metrics: RunMetrics = {
          costEur: round(costEur, 3),
          costAdjustedEur: round(costEur - (storedDeltaKWh * replacementPrice(o.tariff, o.endMs, slotMs)) / batteryEfficiency, 3),
          costAdjustedAtMeanPriceEur: round(costEur - storedDeltaKWh * meanImportPrice * batteryEfficiency, 3),
          startSocPct: round(socAtFrom, 1),
          endSocPct: round(soc, 1),
          importKWh: round(measuredSlots.reduce((sum, x) => sum + x.importWh, 0) / 1000, 3),
          exportKWh: round(exportWh / 1000, 3),
          peakImportW: Math.round(Math.max(0, ...measuredSlots.map((x) => (x.importWh * 3_600_000) / slotMs))),
          selfConsumptionPct: round(pvWh > 0 ? (100 * (pvWh - exportWh)) / pvWh : 100, 2),
          cycles: round((state.energyWh.batteryDischarge - dischargeAtFrom) / capacityWh, 3),
          violations: { soc: socViolations, rating: ratingViolations, envelope: envelopeViolations },
        }
        const result: RunResult = { name, metrics, slots: measuredSlots, plans: rt.planCount(), wallTimeS: round((performance.now() - started) / 1000, 2) }
        o.progress(`backtest: ${name}: cost ${metrics.costEur} EUR, import ${metrics.importKWh} kWh, export ${metrics.exportKWh} kWh, ${result.wallTimeS} s`)
        return { result, slots, optimumEur }
      }
    }
    throw new BacktestError('the run ended off a slot boundary')
  } finally {
    await runtime?.stop()
    await devices?.close()
    await sim.stop()
  }
}
