import type { DeviceDriver } from '../devices/capabilities.ts'
import type { SiteControl } from '../site/siteControlSchema.ts'
import type { RetrainOutcome } from '../forecast/retrainOnSiteHistory.ts'
import { createPlanWorker, type PlanWorker } from '../schedule/createPlanWorker.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'
import type { Alarm, ForecastRecord } from '../store/createStore.ts'
import { buildPlanInput, type PlanMarket, type PlanSettings } from './buildPlanInput.ts'
import { createControlLoop, type ControlStore, type CycleReport } from './createControlLoop.ts'
import type { Planner, PlannerForecast } from './createForecastPlanner.ts'
import { createReplanner, type PlanPolicy } from './createReplanner.ts'
import type { createRetrainSchedule } from './createRetrainSchedule.ts'
import type { OperatingMode, PlanOverride } from './createOperatingMode.ts'
import { createSlotHistory } from './createSlotHistory.ts'
import type { BatteryLimits, MarketCommitment, SiteLimits } from './decideSetpoints.ts'
import type { SiteSettings } from './siteSettingsSchema.ts'
import type { Tariff } from './timeOfUseTariff.ts'

const siteDevice = 'site'

/** Real timers (`now` only), or a clock stepped together with a simulator's (`step`). */
export type SiteClock = { now: () => number; step?: (seconds: number) => Promise<void> }

const planFailedKey = 'plan:failed'
const weatherAlarmPrefix = 'weather:'

/** What the runtime needs of a store (core/store implements it); a backtest runs without one. */
export type SiteStorePort = Omit<ControlStore, 'raiseAlarm' | 'clearAlarm'> & {
  raiseAlarm(a: Parameters<ControlStore['raiseAlarm']>[0]): Alarm
  clearAlarm(key: string, timeMs: number): Alarm | null
  savePlan(plan: Plan): unknown
  saveForecast(forecast: ForecastRecord): unknown
  /** The store's alarms, so the loop takes over those a previous run left active. */
  listAlarms?(q: { state: 'active' }): readonly Alarm[]
}

/** What the runtime needs of a market: the market as plan variables, and the trades the loop must deliver beyond the plan. */
export type SiteMarketPort = {
  planMarket(nowMs: number): PlanMarket | null
  commitment(nowMs: number, plan: Plan | null): MarketCommitment
}

/** Fault injection for the soak campaign (core/soak): each is called before its step and may throw to fail it as a real failure would. */
export type FaultSeam = { beforeForecast?(): void; beforePlan?(): void }

export type SiteEvent =
  | { type: 'cycle'; report: CycleReport }
  | { type: 'plan'; plan: Plan }
  | { type: 'forecast'; load: ForecastRecord; pv: ForecastRecord; method: string; reason: string | null }
  | { type: 'alarm'; alarm: Alarm }
  | { type: 'model'; outcome: RetrainOutcome }
  | { type: 'mode'; mode: OperatingMode }
  | { type: 'settings'; settings: SiteSettings }

/** The planning settings `gridmesh serve` uses; the backtest chose them on a week it does not report (core/control/backtest/NOTES.md). */
export const siteRuntimeDefaults = {
  slotMs: 900_000,
  horizonSlots: 96,
  exportTieBreakEurPerKWh: 0.005,
  // The PV forecast without a weather source (and its fallback): persistence fading in 6 h into
  // the 0.67 quantile of last week's clearness; PV beating the plan costs about twice what
  // falling short does.
  pvForecast: { kind: 'persistence', persistenceMs: 6 * 3_600_000, climatologyQuantile: 0.67 },
  // With a weather source, PV plans on the mean of the forecasts issued in the 3 h before the
  // newest and the newest (a lagged ensemble: one issue's error no longer turns a plan); chosen
  // on sixteen choice runs over the newest alone (core/control/backtest/NOTES.md section 11).
  weatherIssuesMs: 3 * 3_600_000,
} as const

export type SiteRuntimeOptions = {
  name: string
  timeZone: string
  /** The device source's drivers: a site file's devices, or a simulator's. */
  drivers: DeviceDriver[]
  clock: SiteClock
  /** The site file's control section (battery window, grid limits, cycle). */
  control: SiteControl
  /** A function is asked at every plan (live settings). */
  tariff: Tariff | (() => Tariff)
  /** Grid limits asked every cycle and plan (live settings); default the control section's. */
  gridLimits?: (() => SiteLimits) | undefined
  /** Default: the control section's battery goal and degradation cost, serve's export tie-break. */
  planSettings?: Partial<PlanSettings> | undefined
  planPolicy: PlanPolicy
  /** null: no plans (self-consumption). */
  planner: Planner | null
  /** Default: a plan worker of the runtime's own, closed on stop. */
  solver?: PlanWorker | undefined
  store?: SiteStorePort | null | undefined
  market?: SiteMarketPort | null | undefined
  /** Slot means measured before this runtime (the store's 15-minute tier, or a history pass). */
  history?: readonly MeasuredSlot[] | undefined
  initialPlan?: Plan | null | undefined
  slotMs?: number | undefined
  /** Devices older than this are stale (default 10 s), setpoints re-written this often (default 20 s). */
  staleAfterMs?: number | undefined
  refreshMs?: number | undefined
  /** A plan older than this is not followed (default 2 h). */
  planMaxAgeMs?: number | undefined
  retrain?: ReturnType<typeof createRetrainSchedule> | null | undefined
  /** Runs after every cycle, before its event (the service's alarm shelves, modes). */
  afterCycle?: ((report: CycleReport) => void) | undefined
  /** The operator's operating mode, asked every cycle (core/control/createOperatingMode.ts); default: always the plan. */
  planOverride?: ((nowMs: number) => PlanOverride) | undefined
  faultSeam?: FaultSeam | undefined
  log?: ((message: string) => void) | undefined
}

export type SiteRuntime = ReturnType<typeof createSiteRuntime>

/** The loop's limits for each battery: the device's ratings within the site's SoC window. */
export function batteryLimitsOf(drivers: readonly DeviceDriver[], control: SiteControl): Record<string, BatteryLimits> {
  return Object.fromEntries(
    drivers.flatMap((d) => {
      const b = d.battery
      return b ? [[d.name, { maxChargeW: b.maxChargeW ?? 0, maxDischargeW: b.maxDischargeW ?? 0, socMinPct: Math.max(control.battery.socMinPct, b.socMinPct ?? 0), socMaxPct: Math.min(control.battery.socMaxPct, b.socMaxPct ?? 100), rampWPerS: Infinity }]] : []
    }),
  )
}

/**
 * One site: devices, slot history, forecast, plan and control loop, over ports for the
 * store and the market. `gridmesh serve` runs it on real timers with SQLite and the API;
 * the backtest's three runs and the demo sites run it on a clock stepped with the
 * simulator's. The plan is made beside the cycle (createReplanner): a cycle reads the plan
 * in force and never waits for a solve; a stepped clock waits for the solve before it
 * moves, so a stepped run is the same run whatever the machine's speed.
 */
export function createSiteRuntime(options: SiteRuntimeOptions) {
  const { control, clock } = options
  const log = options.log ?? (() => {})
  const slotMs = options.slotMs ?? siteRuntimeDefaults.slotMs
  const store = options.store ?? null
  const tariff = () => (typeof options.tariff === 'function' ? options.tariff() : options.tariff)
  const gridLimits = options.gridLimits ?? (() => control.grid)
  const settings: PlanSettings = {
    targetEndSocPct: control.battery.targetEndSocPct,
    degradationCostEurPerKWh: control.battery.degradationCostEurPerKWh,
    exportTieBreakEurPerKWh: siteRuntimeDefaults.exportTieBreakEurPerKWh,
    ...options.planSettings,
  }
  const batteryLimits = batteryLimitsOf(options.drivers, control)
  // A device down at start joins once it answers (core/devices/startDeviceDriver.ts): the loop
  // and the plan look its capabilities up when they need them.
  const batteryLimitsNow = () => batteryLimitsOf(options.drivers, control)
  const batteries = () => options.drivers.filter((d) => d.battery)
  const ownSolver = options.solver ? null : createPlanWorker()
  const solver = options.solver ?? ownSolver!
  const listeners = new Set<(event: SiteEvent) => void>()
  const emit = (event: SiteEvent) => {
    for (const listener of listeners) listener(event)
  }
  const history = createSlotHistory({ slotMs, hasPv: options.drivers.some((d) => d.pv), seed: options.history })
  let lastCounted: { loadW: number } | null = null
  let latestForecast: { load: ForecastRecord; pv: ForecastRecord; method: string; pvMethod: string } | null = null
  let lastStoredSlot: number | null = null
  const localMinute = (utcMs: number) => {
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: options.timeZone, minute: 'numeric' }).formatToParts(new Date(utcMs))
    return Number(parts.find((p) => p.type === 'minute')?.value ?? 0)
  }

  // Weather alarms are the forecast's (weather:<problem>, info): raised while the site's weather
  // source is refused and the PV forecast falls back, cleared by the first forecast that uses it.
  // Those a previous run left active are taken over.
  const weatherAlarms = new Set((store?.listAlarms?.({ state: 'active' }) ?? []).map((a) => a.key).filter((key) => key.startsWith(weatherAlarmPrefix)))
  const noteWeather = (weather: PlannerForecast['weather'], pvMethod: string | undefined, timeMs: number) => {
    if (!weather || weather.state === 'none') return
    const key = weather.state === 'fallback' ? `${weatherAlarmPrefix}${weather.problem}` : null
    for (const other of [...weatherAlarms].filter((k) => k !== key)) {
      weatherAlarms.delete(other)
      const alarm = store?.clearAlarm(other, timeMs)
      if (alarm) emit({ type: 'alarm', alarm })
    }
    if (weather.state !== 'fallback' || !key || weatherAlarms.has(key)) return
    log(`PV forecast without the weather: ${weather.reason}`)
    weatherAlarms.add(key)
    const alarm = store?.raiseAlarm({ key, device: null, severity: 'info', message: `${weather.reason}; the PV forecast falls back to ${pvMethod?.replace(/ \(weather not used:.*$/, '') ?? 'measured production'}`, timeMs })
    if (alarm) emit({ type: 'alarm', alarm })
  }

  const replanner = createReplanner({
    policy: options.planPolicy,
    slotMs,
    initialPlan: options.initialPlan ?? null,
    marketOpen: (timeMs) => Number.isFinite(options.market?.planMarket(timeMs)?.fromMs ?? Number.POSITIVE_INFINITY),
    log,
    solve: (input, nowMs) => {
      options.faultSeam?.beforePlan?.()
      return solver.plan(input, { nowMs })
    },
    onFailure: (message, timeMs) => {
      const alarm = store?.raiseAlarm({ key: planFailedKey, device: null, severity: 'warning', message: `planning failed: ${message}; the loop follows the last plan while it is current, else self-consumption, and tries again every minute`, timeMs })
      if (alarm) emit({ type: 'alarm', alarm })
    },
    onRecovered: (timeMs) => {
      const alarm = store?.clearAlarm(planFailedKey, timeMs)
      if (alarm) emit({ type: 'alarm', alarm })
    },
    onPlan: (plan) => {
      store?.savePlan(plan)
      emit({ type: 'plan', plan })
    },
    makeInput: async (timeMs, slotStartMs, socPct) => {
      const planner = options.planner
      if (!planner) return null
      const past = history.slots()
      // A first start has no finished slot yet: what is measured now is a better guess than nothing.
      if (!past.length && lastCounted) past.push({ startMs: slotStartMs - slotMs, loadW: lastCounted.loadW, pvW: Number.NaN, batteryW: 0 })
      options.faultSeam?.beforeForecast?.()
      const f = await planner.forecast({ fromMs: slotStartMs, slotMs, history: past, nowMs: timeMs })
      noteWeather(f.weather, f.pvMethod, timeMs)
      // The bands go to /api/forecast and the HMI with the forecast; the store keeps the P50 only.
      const loadBand = f.loadP10W && f.loadP90W ? { p10W: f.loadP10W, p90W: f.loadP90W, ...(f.loadQuantileSource && { quantileSource: f.loadQuantileSource }) } : {}
      const pvBand = f.pvP10W && f.pvP90W ? { p10W: f.pvP10W, p90W: f.pvP90W, ...(f.pvQuantileSource && { quantileSource: f.pvQuantileSource }) } : {}
      const load: ForecastRecord = { createdAtMs: timeMs, kind: 'load', model: f.loadModel, startMs: slotStartMs, slotMs, valuesW: f.loadW, ...loadBand }
      const pv: ForecastRecord = { createdAtMs: timeMs, kind: 'pv', model: f.pvModel, startMs: slotStartMs, slotMs, valuesW: f.pvW, ...pvBand }
      latestForecast = { load, pv, method: f.loadMethod + (f.loadReason ? ` (${f.loadReason})` : ''), pvMethod: f.pvMethod ?? f.pvModel }
      // One stored forecast an hour (and at every local midnight) is enough to score day-ahead and hour-ahead accuracy.
      if (store && localMinute(slotStartMs) === 0 && lastStoredSlot !== slotStartMs) {
        lastStoredSlot = slotStartMs
        store.saveForecast(load)
        store.saveForecast(pv)
      }
      emit({ type: 'forecast', load, pv, method: f.loadMethod, reason: f.loadReason })
      const battery = batteries()[0]
      if (!battery) return null
      return buildPlanInput({
        startMs: slotStartMs,
        slotMs,
        loadW: f.loadW,
        pvW: f.pvW,
        loadP90W: f.loadP90W ?? null,
        pvP10W: f.pvP10W ?? null,
        pvP90W: f.pvP90W ?? null,
        tariff: tariff(),
        battery: { capacityWh: battery.battery!.capacityWh ?? 10_000, socPct, limits: batteryLimitsNow()[battery.name]! },
        grid: gridLimits(),
        settings,
        market: options.market?.planMarket(slotStartMs) ?? null,
      })
    },
  })

  const loop = createControlLoop({
    devices: options.drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: options.staleAfterMs ?? 10_000, refreshMs: options.refreshMs ?? 20_000 })),
    batteryLimits: batteryLimitsNow,
    site: gridLimits,
    now: clock.now,
    plan: () => replanner.current(),
    ...(options.planOverride && { planOverride: options.planOverride }),
    ...(options.planMaxAgeMs !== undefined && { planMaxAgeMs: options.planMaxAgeMs }),
    // The first plan is made beside the cycle within a slot: no plan:none warning before then.
    planStartGraceMs: slotMs,
    ...(options.market && { market: () => options.market!.commitment(clock.now(), replanner.current()) }),
    ...(store && {
      store: {
        appendTelemetry: (s) => store.appendTelemetry(s),
        downsample: (t) => store.downsample(t),
        recordWrite: (w) => store.recordWrite(w),
        raiseAlarm: (a) => {
          const alarm = store.raiseAlarm(a)
          emit({ type: 'alarm', alarm })
          return alarm
        },
        clearAlarm: (key, t) => {
          const alarm = store.clearAlarm(key, t)
          if (alarm) emit({ type: 'alarm', alarm })
          return alarm
        },
        // plan:failed is the replanner's and weather:* the forecast's, not the loop's.
        activeAlarmKeys: () => (store.listAlarms?.({ state: 'active' }) ?? []).map((a) => a.key).filter((key) => key !== planFailedKey && !key.startsWith(weatherAlarmPrefix)),
      } satisfies ControlStore,
    }),
    log,
  })

  const socOf = (report: CycleReport) => report.snapshot.batteries.find((x) => !x.stale && x.socPct !== null)?.socPct ?? null

  async function cycle(): Promise<CycleReport> {
    const report = await loop.tick()
    const counted = history.add(report)
    if (counted) {
      lastCounted = counted
      store?.appendTelemetry([
        { timeMs: report.timeMs, device: siteDevice, point: 'loadW', value: counted.loadW },
        { timeMs: report.timeMs, device: siteDevice, point: 'pvW', value: counted.pvW },
        { timeMs: report.timeMs, device: siteDevice, point: 'gridW', value: counted.gridW },
      ])
    }
    replanner.consider(report.timeMs, socOf(report))
    options.retrain?.check(report.timeMs, history.loadPvByStart())
    options.afterCycle?.(report)
    emit({ type: 'cycle', report })
    return report
  }

  let timer: NodeJS.Timeout | null = null
  let cycling: Promise<void> | null = null

  async function tick(): Promise<CycleReport> {
    while (cycling) await cycling
    const running = cycle()
    cycling = running.then(
      () => undefined,
      () => undefined,
    )
    try {
      return await running
    } finally {
      cycling = null
    }
  }

  return {
    name: options.name,
    timeZone: options.timeZone,
    /** One control cycle; a plan it triggers is made beside it. Cycles never overlap. */
    tick,
    /** Real timers: a cycle every `periodMs` (default the control section's cycleMs); a slow cycle skips a tick rather than piling up. */
    start(periodMs = control.cycleMs) {
      if (timer) return
      timer = setInterval(() => {
        if (cycling) return
        tick().catch((error: unknown) => log(`control cycle failed: ${(error as Error).message}`))
      }, periodMs)
    },
    /**
     * A stepped clock: a cycle, then the plan it triggered (a stepped run plans in no
     * simulated time), then the clock moves `cycleS`; until the clock reaches `toMs`.
     */
    async runTo(toMs: number, cycleS: number): Promise<void> {
      const step = clock.step
      if (!step) throw new RangeError('runTo needs a stepped clock')
      while (clock.now() < toMs) {
        await tick()
        await replanner.idle()
        await step(cycleS)
      }
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = null
      while (cycling) await cycling
      await replanner.idle()
      await options.retrain?.training().catch(() => undefined)
      await ownSolver?.close()
    },
    latest: () => loop.latest(),
    /** The plan in force. */
    plan: () => replanner.current(),
    /** How many plans this runtime made. */
    planCount: () => replanner.count(),
    /** Resolves when no solve is running. */
    planning: () => replanner.idle(),
    /** A plan from now on, whatever the policy (the market demo asks at each interval's start). */
    async requestPlan(socNowPct?: number): Promise<Plan | null> {
      const report = loop.latest()
      // Before the first cycle the caller may read the SoC itself.
      const socPct = socNowPct ?? (report ? socOf(report) : null)
      if (socPct === null) return null
      return replanner.request(clock.now(), socPct)
    },
    slotHistory: history,
    /** What the market port asks the loop to deliver now beyond the plan. */
    commitment: (): MarketCommitment => options.market?.commitment(clock.now(), replanner.current()) ?? null,
    /** The last forecast a plan was made from. */
    forecast: () => latestForecast,
    batteryLimits,
    subscribe(listener: (event: SiteEvent) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    emit,
  }
}
