import type { SiteControl } from '../site/siteControlSchema.ts'
import type { SiteLoadForecaster } from '../forecast/createSiteLoadForecaster.ts'
import { clearSkyPvPower } from '../forecast/clearSkyPvPower.ts'
import { forecastPv } from '../forecast/forecastPv.ts'
import { forecastPvPersistence } from '../forecast/forecastPvPersistence.ts'
import { createWeatherSource, type WeatherOutcome, type WeatherSource } from '../forecast/weather/createWeatherSource.ts'
import { applyPvQuantiles } from '../forecast/weather/applyPvQuantiles.ts'
import { averageWeatherIssues } from '../forecast/weather/averageWeatherIssues.ts'
import { calibratePvQuantiles } from '../forecast/weather/calibratePvQuantiles.ts'
import { createPvResidualLog } from '../forecast/weather/createPvResidualLog.ts'
import { forecastPvWithWeather } from '../forecast/weather/forecastPvWithWeather.ts'
import type { WeatherForecast } from '../forecast/weather/parseOpenMeteoForecast.ts'
import type { WeatherProblem } from '../forecast/weather/WeatherSourceError.ts'
import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'
import { siteRuntimeDefaults } from './createSiteRuntime.ts'

/** What a plan is made from: load and PV over the horizon, and where they came from. */
export type PlannerForecast = {
  loadW: number[]
  /** The load forecast's P90 per slot, W, where the forecaster gives quantiles (the oracle's truth has none). */
  loadP90W?: number[]
  /** The load forecast's P10 per slot, W, and where both quantiles came from (SiteLoadForecast.quantileSource). */
  loadP10W?: number[]
  loadQuantileSource?: string
  pvW: number[]
  /** Stored with the forecast: 'model:<source>', 'seasonal-naive', 'oracle'. */
  loadModel: string
  loadMethod: string
  loadReason: string | null
  pvModel: string
  /** How the PV forecast was made, in words (the weather forecast used, or why not). */
  pvMethod?: string
  /**
   * PV quantiles per slot, in W (P50 is `pvW`): 10 % of outcomes should fall below `pvP10W` and
   * 10 % above `pvP90W`; from this planner's own past forecasts against the production measured
   * since, by lead block (a prior until there are enough). Absent without a PV array or with the oracle.
   */
  pvP10W?: number[]
  pvP90W?: number[]
  pvQuantileSource?: string
  /** The site's weather source: used, not configured, or refused with its problem (the PV forecast then fell back). */
  weather?: { state: 'used' | 'none' } | { state: 'fallback'; problem: WeatherProblem; reason: string }
}

/** Where a runtime's plans get their load and PV from: a forecast, or the truth (perfect foresight). */
export type Planner = {
  kind: 'forecast' | 'oracle'
  /** A planner with a weather source answers with a promise (it may fetch). `nowMs` defaults to `fromMs`. */
  forecast(p: { fromMs: number; slotMs: number; history: readonly MeasuredSlot[]; nowMs?: number }): PlannerForecast | Promise<PlannerForecast>
}

export type PvArray = { latitudeDeg: number; longitudeDeg: number; tiltDeg: number; azimuthDeg: number; peakPowerKw: number }

export type PvForecastSettings =
  /** Current clearness fading over `persistenceMs` into the `quantile` of last week's (null: its mean). */
  | { kind: 'persistence'; persistenceMs: number; climatologyQuantile: number | null }
  /** Clear sky times the last 3 days' measured / clear-sky ratio. */
  | { kind: 'clear-sky-scaled' }

export type ForecastPlannerOptions = {
  forecaster: SiteLoadForecaster
  /** The model's training source, for the stored forecast's label (null without a model). */
  modelSource: () => string | null
  /** The PV array for the clear-sky forecast; null: the site has no PV forecast (0 W). */
  pvArray: PvArray | null
  pv: PvForecastSettings
  horizonSlots: number
  /**
   * The site's weather forecast (control.weather): PV is clear sky x the forecast's clearness x
   * a calibration from measured production; when the source fails the PV forecast falls back
   * to `pv` and says why.
   */
  weather?: WeatherSource | null | undefined
  /**
   * PV plans on the mean of the weather forecasts issued within this long before the newest
   * (a lagged ensemble, averageWeatherIssues); 0: the newest alone. Default
   * siteRuntimeDefaults.weatherIssuesMs.
   */
  weatherIssuesMs?: number | undefined
  /** Diagnostics: plan with the truth instead of the load and/or PV forecast where the truth has the slot. */
  oracle?: { truth: ReadonlyMap<number, { loadW: number; pvW: number }>; load: boolean; pv: boolean } | null
}

/** The PV array a site file's control section describes (location and PV), or null. */
export function pvArrayOf(control: SiteControl): PvArray | null {
  return control.pv && control.location ? { ...control.location, tiltDeg: control.pv.tiltDeg, azimuthDeg: control.pv.azimuthDeg, peakPowerKw: control.pv.peakPowerKw } : null
}

/** The weather source a site file's control section names (control.weather), or null. */
export function weatherSourceOf(control: SiteControl, log?: (message: string) => void): WeatherSource | null {
  return control.weather && control.location ? createWeatherSource(control.weather, { log }) : null
}

/** The live planner: the site's load forecaster and a PV forecast from the weather forecast and measured history, or from the history alone. */
export function createForecastPlanner(options: ForecastPlannerOptions): Planner {
  const residualLog = createPvResidualLog()
  const issuesMs = options.weatherIssuesMs ?? siteRuntimeDefaults.weatherIssuesMs
  /** The weather forecasts of the last `issuesMs`, oldest first (one per issue time). */
  let issues: WeatherForecast[] = []
  const lagged = (newest: WeatherForecast): { forecast: WeatherForecast; issues: number } => {
    // A different source or a clock that went back starts the ensemble again.
    if (issues.some((f) => f.source !== newest.source || f.issuedAtMs > newest.issuedAtMs)) issues = []
    issues = [...issues.filter((f) => f.issuedAtMs !== newest.issuedAtMs && f.issuedAtMs >= newest.issuedAtMs - issuesMs), newest]
    return { forecast: averageWeatherIssues(issues), issues: issues.length }
  }
  const make = (fromMs: number, slotMs: number, history: readonly MeasuredSlot[], answer: WeatherOutcome | null): PlannerForecast => {
    const slots = options.horizonSlots
    const load = options.forecaster.forecast({ history: [...history], fromMs, slotMs, slots })
    const pvHistory = { timesMs: history.map((h) => h.startMs + slotMs / 2), powerKw: history.map((h) => h.pvW / 1000) }
    const site = options.pvArray
    let weather = answer
    let fromWeather: ReturnType<typeof forecastPvWithWeather> | null = null
    if (site && weather?.ok) {
      try {
        const ensemble = lagged(weather.forecast)
        fromWeather = forecastPvWithWeather({ site, fromMs, slotMs, slots, weather: ensemble.forecast, history: pvHistory })
        if (ensemble.issues > 1) fromWeather = { ...fromWeather, method: `${fromWeather.method}; the weather is the mean of its last ${ensemble.issues} issues (within ${issuesMs / 3_600_000} h)` }
        if (!fromWeather.powerKw.every(Number.isFinite)) throw new Error('the PV forecast has non-finite values')
      } catch (error) {
        fromWeather = null
        weather = { ok: false, problem: 'malformed', reason: `weather ${weather.forecast.source}: no PV forecast from it: ${(error as Error).message}` }
      }
    }
    let pvW: number[]
    let pvModel: string
    let pvMethod: string
    if (!site) {
      pvW = new Array<number>(slots).fill(0)
      pvModel = 'none'
      pvMethod = 'no PV array in the site file'
    } else if (fromWeather) {
      pvW = fromWeather.powerKw.map((kw) => kw * 1000)
      pvModel = 'clear-sky-weather'
      pvMethod = fromWeather.method
    } else if (options.pv.kind === 'persistence') {
      pvW = forecastPvPersistence({ site, fromMs, slotMs, slots, history: pvHistory, persistenceMs: options.pv.persistenceMs, climatologyQuantile: options.pv.climatologyQuantile ?? undefined }).powerKw.map((kw) => kw * 1000)
      pvModel = 'clear-sky-persistence'
      pvMethod = 'clear sky x measured clearness (persistence)'
    } else {
      pvW = forecastPv({ site, fromMs, slotMs, slots, history: pvHistory }).forecast.map((f) => f.powerKw * 1000)
      pvModel = 'clear-sky-scaled'
      pvMethod = 'clear sky x the last 3 days\' measured ratio'
    }
    if (weather && !weather.ok && site) pvMethod += ` (weather not used: ${weather.reason})`
    const oracle = options.oracle
    let bands: { pvP10W: number[]; pvP90W: number[]; pvQuantileSource: string } | null = null
    if (site && !oracle?.pv) {
      const clearSkyKw = Array.from({ length: slots }, (_, k) => clearSkyPvPower(site, fromMs + k * slotMs + slotMs / 2).powerKw)
      const powerKw = pvW.map((w) => w / 1000)
      const measuredKw = new Map(history.map((h) => [h.startMs, h.pvW / 1000]))
      const table = calibratePvQuantiles(residualLog.residuals((startMs) => measuredKw.get(startMs), 0.1 * site.peakPowerKw))
      const band = applyPvQuantiles({ table, powerKw, clearSkyKw, leadMs: clearSkyKw.map((_, k) => k * slotMs), peakPowerKw: site.peakPowerKw })
      bands = { pvP10W: band.p10Kw.map((kw) => kw * 1000), pvP90W: band.p90Kw.map((kw) => kw * 1000), pvQuantileSource: table.source }
      residualLog.record({ fromMs, slotMs, powerKw, clearSkyKw })
    }
    const loadW = load.loadW.map((w, i) => (oracle?.load ? (oracle.truth.get(fromMs + i * slotMs)?.loadW ?? w) : w))
    return {
      loadW,
      ...(!oracle?.load && load.loadP90W && { loadP90W: load.loadP90W }),
      ...(!oracle?.load && load.loadP10W && { loadP10W: load.loadP10W }),
      ...(!oracle?.load && load.quantileSource && { loadQuantileSource: load.quantileSource }),
      pvW: pvW.map((w, i) => (oracle?.pv ? (oracle.truth.get(fromMs + i * slotMs)?.pvW ?? w) : w)),
      loadModel: oracle?.load ? 'oracle' : load.method === 'model' ? `model:${options.modelSource() ?? 'unknown'}` : load.method,
      loadMethod: oracle?.load ? 'oracle' : load.method,
      loadReason: load.reason ?? null,
      pvModel: oracle?.pv ? 'oracle' : pvModel,
      pvMethod: oracle?.pv ? 'oracle' : pvMethod,
      ...bands,
      weather: !weather ? { state: 'none' } : weather.ok ? { state: 'used' } : { state: 'fallback', problem: weather.problem, reason: weather.reason },
    }
  }
  return {
    kind: 'forecast',
    forecast({ fromMs, slotMs, history, nowMs }) {
      const source = options.weather
      const site = options.pvArray
      if (!source || !site || options.oracle?.pv) return make(fromMs, slotMs, history, null)
      const request = { nowMs: nowMs ?? fromMs, fromMs, toMs: fromMs + options.horizonSlots * slotMs, site }
      // The plan never fails for the weather: a source that breaks is a fallback with its reason.
      return source.forecast(request).then(
        (outcome) => make(fromMs, slotMs, history, outcome),
        (error: unknown) => make(fromMs, slotMs, history, { ok: false, problem: 'missing', reason: `weather ${source.describe}: ${(error as Error).message}` }),
      )
    },
  }
}
