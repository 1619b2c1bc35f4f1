import type { DeviceDriver } from '../devices/capabilities.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { siteControlSchema, type SiteControl } from '../site/siteControlSchema.ts'
import { createCalendar } from '../forecast/createCalendar.ts'
import { createSiteLoadForecaster } from '../forecast/createSiteLoadForecaster.ts'
import type { ForecastAccuracy } from '../forecast/measureForecastAccuracy.ts'
import type { LoadedLoadModel } from '../forecast/retrainOnSiteHistory.ts'
import type { PlanWorker } from '../schedule/createPlanWorker.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import type { Alarm, AlarmFilterState, ForecastRecord, Store } from '../store/createStore.ts'
import { createAccuracyScore } from './createAccuracyScore.ts'
import { createOperatingMode } from './createOperatingMode.ts'
import { createSiteSettings } from './createSiteSettings.ts'
import { createForecastPlanner, pvArrayOf, weatherSourceOf } from './createForecastPlanner.ts'
import { createRetrainSchedule } from './createRetrainSchedule.ts'
import { createSiteRuntime, siteRuntimeDefaults, type FaultSeam, type SiteClock, type SiteEvent, type SiteMarketPort, type SiteStorePort } from './createSiteRuntime.ts'
import { defaultTariff, type Tariff } from './timeOfUseTariff.ts'

export type { FaultSeam, SiteEvent }

const dayMs = 86_400_000
const siteDevice = 'site'

/** What the site controller needs of a store (core/store's createStore implements it). */
export type SiteControllerStore = SiteStorePort &
  Pick<Store, 'latestPlan' | 'queryTelemetry' | 'forecastsFor' | 'listAlarms' | 'acknowledgeAlarm' | 'shelveAlarm' | 'unshelveAlarm' | 'expireShelvedAlarms' | 'alarmEvents' | 'settings'>

export type SiteControllerOptions = {
  site: SiteFile
  drivers: DeviceDriver[]
  store: SiteControllerStore
  now: () => number
  /** Default real timers on `now`; a stepped clock runs the service under a simulator's clock (tests, soak). */
  clock?: SiteClock | undefined
  /** Default: a plan worker of the runtime's own. */
  solver?: PlanWorker | undefined
  /** The load model to start with (the shipped default, or the site's own). */
  loadModel: LoadedLoadModel | null
  /** Where retrained models go (`<dir>/site-model`); without it the controller never retrains. */
  modelDir?: string
  /** Retrain once this many days of the site's own history exist, and again every `everyDays` (default 28 and 7). */
  retrain?: { minDays?: number; everyDays?: number }
  /** Devices older than this are stale (default 10 s), setpoints re-written this often (default 20 s). */
  staleAfterMs?: number | undefined
  refreshMs?: number | undefined
  log?: (message: string) => void
  /** Fault injection for the soak campaign (core/soak): each is called before its step and may throw to fail it as a real failure would. */
  faultSeam?: FaultSeam | undefined
  /** The live market this site trades in (core/trading's startLiveSite): plans open to it, and the loop delivers what was cleared. */
  market?: SiteMarketPort | undefined
}

export type ForecastView = {
  load: ForecastRecord | null
  pv: ForecastRecord | null
  loadMethod: string | null
  /** How the PV forecast was made: the weather forecast used, or the fallback and why (`weather not used: <reason>`). */
  pvMethod: string | null
  /** Yesterday (local day) scored: day-ahead, short lead and the seasonal-naive baseline. */
  accuracy: ForecastAccuracy | null
  model: { dir: string; trainedAt: string; source: string; validationMapePct: number } | null
}

/** The tariff a site file's control section names, else the default time-of-use tariff in the site's zone. */
export function siteTariff(control: SiteControl, timeZone: string): Tariff {
  return control.tariff ? { timezone: timeZone, ...control.tariff } : defaultTariff(timeZone)
}

/**
 * A site run for real (`gridmesh serve`): the site runtime (createSiteRuntime) over the
 * store, with the service around it: the load model retrained on the site's own history in
 * a worker once enough exists, forecasts scored against what happened, alarms the operator
 * acknowledges and shelves, and the trend.
 */
export function createSiteController(options: SiteControllerOptions) {
  const { site, store, now } = options
  const log = options.log ?? (() => {})
  const control: SiteControl = site.control ?? siteControlSchema.parse({})
  const timeZone = site.timezone ?? options.loadModel?.metadata.timeZone ?? 'UTC'
  const calendar = createCalendar(timeZone)
  const holidays = new Set(control.holidays)
  const localDate = (utcMs: number) => new Date(utcMs + calendar.offsetMs(utcMs)).toISOString().slice(0, 10)
  const isHoliday = (utcMs: number) => holidays.has(localDate(utcMs))
  const localMidnight = (utcMs: number) => calendar.localToUtcMs(Date.parse(`${localDate(utcMs)}T00:00:00Z`))
  const forecaster = createSiteLoadForecaster({ timeZone, model: options.loadModel ?? undefined, holidays: isHoliday })
  let model = options.loadModel
  let runtime: ReturnType<typeof createSiteRuntime> | null = null
  const retrain = options.modelDir
    ? createRetrainSchedule({
        modelDir: options.modelDir,
        minDays: options.retrain?.minDays,
        everyDays: options.retrain?.everyDays,
        timeZone,
        isHoliday,
        source: `site:${site.name}`,
        localDate,
        log,
        model: () => model,
        accept: (next) => {
          model = next
          forecaster.setModel(next)
        },
        outcome: (outcome) => {
          if (outcome.accepted) store.clearAlarm('forecast:retrain', now())
          else store.raiseAlarm({ key: 'forecast:retrain', device: null, severity: 'info', message: `load model not replaced: ${outcome.reason}`, timeMs: now() })
          runtime?.emit({ type: 'model', outcome })
        },
      })
    : null

  // Slot means of load and PV: seeded from the store's 15-minute tier, so a restart keeps its history.
  const seedFrom = now() - 400 * dayMs
  const pvRows = new Map(store.queryTelemetry({ device: siteDevice, point: 'pvW', fromMs: seedFrom, toMs: now(), tier: '15m' }).map((r) => [r.timeMs, r.value]))
  const seed = store.queryTelemetry({ device: siteDevice, point: 'loadW', fromMs: seedFrom, toMs: now(), tier: '15m' }).map((r) => ({ startMs: r.timeMs, loadW: r.value, pvW: pvRows.get(r.timeMs) ?? 0 }))

  // The operator's operating mode and settings (issue 12): kept in the store, read live by the runtime.
  const operatingMode = createOperatingMode({ settings: store.settings, now, onChange: (mode) => runtime?.emit({ type: 'mode', mode }), log })
  const { timezone: _zone, ...fileTariff } = siteTariff(control, timeZone)
  const settings = createSiteSettings({
    defaults: { grid: control.grid, tariff: fileTariff },
    timeZone,
    settings: store.settings,
    now,
    onChange: (changed) => {
      runtime?.emit({ type: 'settings', settings: changed })
      // A new tariff or limit makes the plan in force stale: plan again now, not at the next slot.
      runtime?.requestPlan().catch((error: unknown) => log(`planning after a settings change failed: ${(error as Error).message}`))
    },
    log,
  })
  const rt = createSiteRuntime({
    name: site.name,
    timeZone,
    drivers: options.drivers,
    clock: options.clock ?? { now },
    control,
    tariff: settings.tariff,
    gridLimits: settings.gridLimits,
    planOverride: operatingMode.planOverride,
    planPolicy: { kind: 'serve' },
    planner: createForecastPlanner({
      forecaster,
      modelSource: () => model?.metadata.training.source ?? null,
      pvArray: pvArrayOf(control),
      pv: siteRuntimeDefaults.pvForecast,
      horizonSlots: siteRuntimeDefaults.horizonSlots,
      weather: weatherSourceOf(control, log),
    }),
    solver: options.solver,
    store,
    market: options.market,
    history: seed,
    initialPlan: store.latestPlan() as Plan | null,
    staleAfterMs: options.staleAfterMs,
    refreshMs: options.refreshMs,
    retrain,
    // A shelve runs out on the site's clock, checked every cycle.
    afterCycle: (report) => {
      for (const alarm of store.expireShelvedAlarms(report.timeMs)) rt.emit({ type: 'alarm', alarm })
    },
    faultSeam: options.faultSeam,
    log,
  })
  runtime = rt
  let forecasts = 0
  rt.subscribe((e) => {
    if (e.type === 'forecast') forecasts++
  })
  const score = createAccuracyScore({
    slotMs: siteRuntimeDefaults.slotMs,
    forecastsFor: (q) => store.forecastsFor(q),
    loadW: () => rt.slotHistory.loadPvByStart(),
    version: () => `${rt.slotHistory.version()}:${forecasts}`,
    localMidnight,
  })

  return {
    /** The runtime this service runs (the backtest runs the same). */
    runtime: rt,
    /** One control cycle; a plan it triggers is made beside it. Cycles never overlap. */
    tick: rt.tick,
    start: rt.start,
    stop: rt.stop,
    latest: rt.latest,
    plan: rt.plan,
    forecast(): ForecastView {
      const meta = model?.metadata
      const f = rt.forecast()
      return {
        load: f?.load ?? null,
        pv: f?.pv ?? null,
        loadMethod: f?.method ?? null,
        pvMethod: f?.pvMethod ?? null,
        accuracy: score(rt.latest()?.timeMs ?? now()),
        model: meta && model ? { dir: model.dir, trainedAt: meta.trainedAt, source: meta.training.source, validationMapePct: meta.validation.dayAheadMapePct } : null,
      }
    },
    alarms: (q?: { state?: AlarmFilterState; sinceMs?: number }) => store.listAlarms(q),
    acknowledgeAlarm(id: number, by: string): Alarm {
      const alarm = store.acknowledgeAlarm(id, by, now())
      rt.emit({ type: 'alarm', alarm })
      return alarm
    },
    shelveAlarm(id: number, shelve: { by: string; reason: string; durationMs: number }): Alarm {
      const timeMs = now()
      const alarm = store.shelveAlarm(id, { by: shelve.by, reason: shelve.reason, untilMs: timeMs + shelve.durationMs, timeMs })
      rt.emit({ type: 'alarm', alarm })
      return alarm
    },
    unshelveAlarm(id: number, by: string): Alarm {
      const alarm = store.unshelveAlarm(id, by, now())
      rt.emit({ type: 'alarm', alarm })
      return alarm
    },
    alarmEvents: (sinceMs: number, alarmId?: number) => store.alarmEvents(sinceMs, alarmId),
    trend: (q: { device: string; point: string; fromMs: number; toMs: number; tier?: 'raw' | '1m' | '15m' }) => store.queryTelemetry(q),
    /** Resolves when a retraining started by the controller has finished (tests, shutdown). */
    training: () => retrain?.training() ?? Promise.resolve(),
    /** Resolves when no plan is being made (tests). */
    planning: rt.planning,
    subscribe: rt.subscribe,
    timeZone,
    /** auto (the plan), self-consumption or manual until it expires; setMode commands land here. */
    operatingMode,
    /** Grid limits and tariff changed at run time; updateSettings commands land here. */
    settings,
  }
}

export type SiteController = ReturnType<typeof createSiteController>
