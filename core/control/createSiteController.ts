import type { DeviceDriver } from '../devices/capabilities.ts'
import { siteControlSchema, type SiteControl, type SiteFile } from '../devices/site/siteFileSchema.ts'
import { createCalendar } from '../forecast/createCalendar.ts'
import { createSiteLoadForecaster } from '../forecast/createSiteLoadForecaster.ts'
import { forecastPvPersistence } from '../forecast/forecastPvPersistence.ts'
import { retrainOnSiteHistory, type LoadedLoadModel, type RetrainOutcome } from '../forecast/retrainOnSiteHistory.ts'
import { measureForecastAccuracy, type ForecastAccuracy } from '../forecast/measureForecastAccuracy.ts'
import type { PlanInputParameters } from '../schedule/planInputSchema.ts'
import { planSchedule, type Plan } from '../schedule/planSchedule.ts'
import { shouldReplan } from '../schedule/shouldReplan.ts'
import type { Alarm, AlarmFilterState, ForecastRecord, Store } from '../store/createStore.ts'
import { defaultTariff, importPriceAt, type Tariff } from './timeOfUseTariff.ts'
import { createControlLoop, type CycleReport } from './createControlLoop.ts'

const slotMs = 900_000
const dayMs = 86_400_000
const horizonSlots = 96
const siteDevice = 'site'
// The backtest chose these on a week it does not report (core/control/backtest/NOTES.md): PV
// persistence fading in 6 h into the 0.67 quantile of last week's clearness (PV beating the
// plan costs about twice what falling short does), and stored surplus preferred to exported
// surplus when the plan is otherwise indifferent.
const pvPersistenceMs = 6 * 3_600_000
const pvClimatologyQuantile = 0.67
const exportTieBreakEurPerKWh = 0.005

export type SiteControllerOptions = {
  site: SiteFile
  drivers: DeviceDriver[]
  store: Store
  now: () => number
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
}

export type SiteEvent =
  | { type: 'cycle'; report: CycleReport }
  | { type: 'plan'; plan: Plan }
  | { type: 'forecast'; load: ForecastRecord; pv: ForecastRecord }
  | { type: 'alarm'; alarm: Alarm }
  | { type: 'model'; outcome: RetrainOutcome }

export type ForecastView = {
  load: ForecastRecord | null
  pv: ForecastRecord | null
  loadMethod: string | null
  /** Yesterday (local day) scored: day-ahead, short lead and the seasonal-naive baseline. */
  accuracy: ForecastAccuracy | null
  model: { dir: string; trainedAt: string; source: string; validationMapePct: number } | null
}

/**
 * One site run for real: the control loop every cycle, and around it what makes the
 * plan: slot history of load and PV, the load model's forecast (retrained on the site's
 * own history in a worker once enough exists), the PV forecast, a MILP plan every slot,
 * forecasts stored with the time they were made and scored against what happened.
 */
export function createSiteController(options: SiteControllerOptions) {
  const { site, store, now } = options
  const log = options.log ?? (() => {})
  const control: SiteControl = site.control ?? siteControlSchema.parse({})
  const timeZone = site.timezone ?? options.loadModel?.metadata.timeZone ?? 'UTC'
  const calendar = createCalendar(timeZone)
  const tariff: Tariff = control.tariff ? { timezone: timeZone, ...control.tariff } : defaultTariff(timeZone)
  const holidays = new Set(control.holidays)
  const localDate = (utcMs: number) => new Date(utcMs + calendar.offsetMs(utcMs)).toISOString().slice(0, 10)
  const isHoliday = (utcMs: number) => holidays.has(localDate(utcMs))
  const forecaster = createSiteLoadForecaster({ timeZone, model: options.loadModel ?? undefined, holidays: isHoliday })
  let model = options.loadModel
  const batteries = options.drivers.filter((d) => d.battery)
  const listeners = new Set<(event: SiteEvent) => void>()
  const emit = (event: SiteEvent) => {
    for (const listener of listeners) listener(event)
  }

  let plan: Plan | null = store.latestPlan() as Plan | null
  const loop = createControlLoop({
    devices: options.drivers.map((driver) => ({ name: driver.name, driver, staleAfterMs: options.staleAfterMs ?? 10_000, refreshMs: options.refreshMs ?? 20_000 })),
    batteryLimits: Object.fromEntries(
      batteries.map((d) => {
        const b = d.battery!
        return [d.name, { maxChargeW: b.maxChargeW ?? 0, maxDischargeW: b.maxDischargeW ?? 0, socMinPct: Math.max(control.battery.socMinPct, b.socMinPct ?? 0), socMaxPct: Math.min(control.battery.socMaxPct, b.socMaxPct ?? 100), rampWPerS: Infinity }]
      }),
    ),
    site: { maxImportW: control.grid.maxImportW, maxExportW: control.grid.maxExportW },
    now,
    plan: () => plan,
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
    },
    log,
  })

  // Slot means of load and PV: seeded from the store's 15-minute tier, so a restart keeps its history.
  const history = new Map<number, { loadW: number; pvW: number }>()
  const seedFrom = now() - 400 * dayMs
  const pvRows = new Map(store.queryTelemetry({ device: siteDevice, point: 'pvW', fromMs: seedFrom, toMs: now(), tier: '15m' }).map((r) => [r.timeMs, r.value]))
  for (const r of store.queryTelemetry({ device: siteDevice, point: 'loadW', fromMs: seedFrom, toMs: now(), tier: '15m' })) history.set(r.timeMs, { loadW: r.value, pvW: pvRows.get(r.timeMs) ?? 0 })
  let slot: { startMs: number; load: number; pv: number; n: number } | null = null
  let lastPlannedSlot: number | null = null
  let planned: { input: PlanInputParameters; plan: Plan } | null = null
  let lastReplanCheckMs = Number.NEGATIVE_INFINITY
  let latestLoad: ForecastRecord | null = null
  let latestPv: ForecastRecord | null = null
  let loadMethod: string | null = null
  let accuracy: { key: string; value: ForecastAccuracy } | null = null
  let historyVersion = 0
  let storedForecasts = 0
  let lastStoredSlot: number | null = null
  let training: Promise<void> | null = null
  let lastRetrainCheckDay: string | null = null
  let timer: NodeJS.Timeout | null = null
  let cycling: Promise<void> | null = null

  const localMidnight = (utcMs: number) => calendar.localToUtcMs(Date.parse(`${localDate(utcMs)}T00:00:00Z`))

  // A site without PV inverters has no PV, not an unknown amount of it.
  const hasPv = options.drivers.some((d) => d.pv)
  const sitePvW = (snap: CycleReport['snapshot']) => snap.pvW ?? (hasPv ? null : 0)

  function batteryState(report: CycleReport) {
    const b = report.snapshot.batteries.find((x) => !x.stale && x.socPct !== null)
    return b ? { socPct: b.socPct! } : null
  }

  async function replan(report: CycleReport, slotStartMs: number) {
    const times = Array.from({ length: horizonSlots }, (_, i) => slotStartMs + i * slotMs)
    const recent = [...history].sort((a, b) => a[0] - b[0])
    const loadHistory = recent.map(([startMs, h]) => ({ startMs, loadW: h.loadW }))
    // A first start has no finished slot yet: what is measured now is a better guess than nothing.
    const snap = report.snapshot
    const pvNowW = sitePvW(snap)
    if (!loadHistory.length && snap.gridW !== null && pvNowW !== null) loadHistory.push({ startMs: slotStartMs - slotMs, loadW: snap.gridW + pvNowW + snap.batteries.reduce((s, b) => s + (b.powerW ?? 0), 0) })
    const load = forecaster.forecast({ history: loadHistory, fromMs: slotStartMs, slotMs, slots: horizonSlots })
    loadMethod = load.method + (load.reason ? ` (${load.reason})` : '')
    const pvSite = control.pv && control.location ? { ...control.location, tiltDeg: control.pv.tiltDeg, azimuthDeg: control.pv.azimuthDeg, peakPowerKw: control.pv.peakPowerKw } : null
    const pvW = pvSite
      ? forecastPvPersistence({ site: pvSite, fromMs: slotStartMs, slotMs, slots: horizonSlots, history: { timesMs: recent.map(([t]) => t + slotMs / 2), powerKw: recent.map(([, h]) => h.pvW / 1000) }, persistenceMs: pvPersistenceMs, climatologyQuantile: pvClimatologyQuantile }).powerKw.map((kw) => kw * 1000)
      : times.map(() => 0)
    const createdAtMs = report.timeMs
    latestLoad = { createdAtMs, kind: 'load', model: load.method === 'model' ? `model:${model?.metadata.training.source ?? 'unknown'}` : load.method, startMs: slotStartMs, slotMs, valuesW: load.loadW }
    latestPv = { createdAtMs, kind: 'pv', model: pvSite ? 'clear-sky-persistence' : 'none', startMs: slotStartMs, slotMs, valuesW: pvW }
    // One stored forecast an hour (and at every local midnight) is enough to score day-ahead and hour-ahead accuracy.
    const localMinute = Math.round((slotStartMs + calendar.offsetMs(slotStartMs)) / 60_000) % 60
    if (localMinute === 0 && lastStoredSlot !== slotStartMs) {
      lastStoredSlot = slotStartMs
      store.saveForecast(latestLoad)
      store.saveForecast(latestPv)
      storedForecasts++
    }
    emit({ type: 'forecast', load: latestLoad, pv: latestPv })
    const battery = batteries[0]?.battery
    const soc = batteryState(report)
    if (!battery || !soc) {
      plan = null
      return
    }
    const limits = battery
    const input: PlanInputParameters = {
      startMs: slotStartMs,
      slotDurationMs: slotMs,
      objective: 'cost',
      slots: times.map((t, i) => ({ loadPowerW: Math.max(0, load.loadW[i] ?? 0), pvPowerW: Math.max(0, pvW[i] ?? 0), importPriceEurPerKWh: importPriceAt(tariff, t), exportPriceEurPerKWh: tariff.exportEurPerKWh - exportTieBreakEurPerKWh * (1 - i / (horizonSlots - 1)) })),
      battery: {
        capacityWh: limits.capacityWh ?? 10_000,
        socPct: Math.min(control.battery.socMaxPct, Math.max(control.battery.socMinPct, soc.socPct)),
        minSocPct: control.battery.socMinPct,
        maxSocPct: control.battery.socMaxPct,
        maxChargePowerW: limits.maxChargeW ?? 0,
        maxDischargePowerW: limits.maxDischargeW ?? 0,
        targetEndSocPct: control.battery.targetEndSocPct,
        degradationCostEurPerKWh: control.battery.degradationCostEurPerKWh,
      },
      grid: { ...(control.grid.maxImportW !== null ? { maxImportPowerW: control.grid.maxImportW } : {}), ...(control.grid.maxExportW !== null ? { maxExportPowerW: control.grid.maxExportW } : {}) },
    }
    plan = await planSchedule(input, { nowMs: report.timeMs })
    planned = { input, plan }
    store.savePlan(plan)
    emit({ type: 'plan', plan })
  }

  function scoreYesterday(nowMs: number): ForecastAccuracy | null {
    const todayStart = localMidnight(nowMs)
    const dayStartMs = localMidnight(todayStart - dayMs / 2)
    // Recomputed when the day or what is known about it changes (a slot landed, a forecast was stored).
    const key = `${dayStartMs}:${historyVersion}:${storedForecasts}`
    if (accuracy?.key === key) return accuracy.value
    const forecasts = store.forecastsFor({ kind: 'load', startMs: dayStartMs - dayMs, endMs: todayStart })
    const actualW = new Map([...history].filter(([t]) => t >= dayStartMs - dayMs && t < todayStart).map(([t, h]) => [t, h.loadW]))
    const value = measureForecastAccuracy({ fromMs: dayStartMs, toMs: todayStart, slotMs, forecasts: forecasts.filter((f) => f.createdAtMs < todayStart), actualW })
    accuracy = { key, value }
    return value
  }

  function maybeRetrain(nowMs: number) {
    if (!options.modelDir || training) return
    const day = localDate(nowMs)
    if (day === lastRetrainCheckDay) return
    lastRetrainCheckDay = day
    const minDays = options.retrain?.minDays ?? 28
    const everyDays = options.retrain?.everyDays ?? 7
    const trainedAt = model?.metadata.training.source.startsWith('site:') ? Date.parse(model.metadata.trainedAt) : Number.NEGATIVE_INFINITY
    if (nowMs - trainedAt < everyDays * dayMs) return
    const slots = [...history.keys()].filter((t) => t < nowMs)
    if (slots.length < minDays * 96) return
    log(`forecast: retraining the load model on ${(slots.length / 96).toFixed(1)} days of this site's history (worker thread)`)
    training = retrainOnSiteHistory({ history, timeZone, isHoliday, nowMs, dir: `${options.modelDir}/site-model`, source: `site:${site.name}` })
      .then((outcome) => {
        if (outcome.accepted && outcome.model) {
          model = outcome.model
          forecaster.setModel(outcome.model)
          store.clearAlarm('forecast:retrain', now())
        } else store.raiseAlarm({ key: 'forecast:retrain', device: null, severity: 'info', message: `load model not replaced: ${outcome.reason}`, timeMs: now() })
        log(`forecast: ${outcome.accepted ? 'using the retrained model' : 'kept the previous model'}: ${outcome.reason}`)
        emit({ type: 'model', outcome })
      })
      .finally(() => {
        training = null
      })
  }

  async function cycle(): Promise<CycleReport> {
    const report = await loop.tick()
    const snap = report.snapshot
    const batteryW = snap.batteries.reduce((s, b) => s + (b.powerW ?? 0), 0)
    const pvW = sitePvW(snap)
    if (snap.gridW !== null && pvW !== null && snap.batteries.every((b) => !b.stale)) {
      const loadW = snap.gridW + pvW + batteryW
      store.appendTelemetry([
        { timeMs: snap.timeMs, device: siteDevice, point: 'loadW', value: loadW },
        { timeMs: snap.timeMs, device: siteDevice, point: 'pvW', value: pvW },
        { timeMs: snap.timeMs, device: siteDevice, point: 'gridW', value: snap.gridW },
      ])
      const slotStartMs = Math.floor(snap.timeMs / slotMs) * slotMs
      if (slot && slot.startMs !== slotStartMs && slot.n > 0) {
        history.set(slot.startMs, { loadW: slot.load / slot.n, pvW: slot.pv / slot.n })
        historyVersion++
      }
      if (!slot || slot.startMs !== slotStartMs) slot = { startMs: slotStartMs, load: 0, pv: 0, n: 0 }
      slot.load += loadW
      slot.pv += pvW
      slot.n++
    }
    const slotStartMs = Math.floor(report.timeMs / slotMs) * slotMs
    const soc = batteryState(report)
    let why: string | null = slotStartMs !== lastPlannedSlot ? 'new slot' : null
    // Inside a slot only the battery can move materially (forecasts change with finished slots, prices with the tariff): check once a minute.
    if (!why && soc && planned && report.timeMs - lastReplanCheckMs >= 60_000) {
      lastReplanCheckMs = report.timeMs
      const decision = shouldReplan(planned, { ...planned.input, startMs: report.timeMs, battery: { ...planned.input.battery!, socPct: soc.socPct } })
      if (decision.replan) why = decision.reasons.join('; ')
    }
    if (why && soc) {
      lastPlannedSlot = slotStartMs
      if (why !== 'new slot') log(`re-planning: ${why}`)
      try {
        await replan(report, slotStartMs)
      } catch (error) {
        log(`planning failed: ${(error as Error).message}; the loop runs self-consumption until a plan exists`)
      }
    }
    maybeRetrain(report.timeMs)
    // A shelve runs out on the site's clock, checked every cycle.
    for (const alarm of store.expireShelvedAlarms(report.timeMs)) emit({ type: 'alarm', alarm })
    emit({ type: 'cycle', report })
    return report
  }

  return {
    /** One control cycle, then planning when a new slot began; cycles never overlap. */
    async tick(): Promise<CycleReport> {
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
    },
    start(periodMs = control.cycleMs) {
      if (timer) return
      timer = setInterval(() => {
        if (cycling) return // a slow cycle skips a tick rather than piling up
        this.tick().catch((error: unknown) => log(`control cycle failed: ${(error as Error).message}`))
      }, periodMs)
    },
    async stop() {
      if (timer) clearInterval(timer)
      timer = null
      while (cycling) await cycling
      await training?.catch(() => undefined)
    },
    latest: () => loop.latest(),
    plan: () => plan,
    forecast(): ForecastView {
      const meta = model?.metadata
      return {
        load: latestLoad,
        pv: latestPv,
        loadMethod,
        accuracy: scoreYesterday(loop.latest()?.timeMs ?? now()),
        model: meta && model ? { dir: model.dir, trainedAt: meta.trainedAt, source: meta.training.source, validationMapePct: meta.validation.dayAheadMapePct } : null,
      }
    },
    alarms: (q?: { state?: AlarmFilterState; sinceMs?: number }) => store.listAlarms(q),
    acknowledgeAlarm(id: number, by: string): Alarm {
      const alarm = store.acknowledgeAlarm(id, by, now())
      emit({ type: 'alarm', alarm })
      return alarm
    },
    shelveAlarm(id: number, shelve: { by: string; reason: string; durationMs: number }): Alarm {
      const timeMs = now()
      const alarm = store.shelveAlarm(id, { by: shelve.by, reason: shelve.reason, untilMs: timeMs + shelve.durationMs, timeMs })
      emit({ type: 'alarm', alarm })
      return alarm
    },
    unshelveAlarm(id: number, by: string): Alarm {
      const alarm = store.unshelveAlarm(id, by, now())
      emit({ type: 'alarm', alarm })
      return alarm
    },
    alarmEvents: (sinceMs: number, alarmId?: number) => store.alarmEvents(sinceMs, alarmId),
    trend: (q: { device: string; point: string; fromMs: number; toMs: number; tier?: 'raw' | '1m' | '15m' }) => store.queryTelemetry(q),
    /** Resolves when a retraining started by the controller has finished (tests, shutdown). */
    training: () => training ?? Promise.resolve(),
    subscribe(listener: (event: SiteEvent) => void): () => void {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    timeZone,
  }
}

export type SiteController = ReturnType<typeof createSiteController>
