import type { SiteControl } from '../site/siteControlSchema.ts'
import type { SiteLoadForecaster } from '../forecast/createSiteLoadForecaster.ts'
import { forecastPv } from '../forecast/forecastPv.ts'
import { forecastPvPersistence } from '../forecast/forecastPvPersistence.ts'
import type { MeasuredSlot } from '../simulator/measureHistoryOnDevices.ts'

/** What a plan is made from: load and PV over the horizon, and where they came from. */
export type PlannerForecast = {
  loadW: number[]
  pvW: number[]
  /** Stored with the forecast: 'model:<source>', 'seasonal-naive', 'oracle'. */
  loadModel: string
  loadMethod: string
  loadReason: string | null
  pvModel: string
}

/** Where a runtime's plans get their load and PV from: a forecast, or the truth (perfect foresight). */
export type Planner = {
  kind: 'forecast' | 'oracle'
  forecast(p: { fromMs: number; slotMs: number; history: readonly MeasuredSlot[] }): PlannerForecast
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
  /** Diagnostics: plan with the truth instead of the load and/or PV forecast where the truth has the slot. */
  oracle?: { truth: ReadonlyMap<number, { loadW: number; pvW: number }>; load: boolean; pv: boolean } | null
}

/** The PV array a site file's control section describes (location and PV), or null. */
export function pvArrayOf(control: SiteControl): PvArray | null {
  return control.pv && control.location ? { ...control.location, tiltDeg: control.pv.tiltDeg, azimuthDeg: control.pv.azimuthDeg, peakPowerKw: control.pv.peakPowerKw } : null
}

/** The live planner: the site's load forecaster and a PV forecast from its measured history. */
export function createForecastPlanner(options: ForecastPlannerOptions): Planner {
  return {
    kind: 'forecast',
    forecast({ fromMs, slotMs, history }) {
      const slots = options.horizonSlots
      const load = options.forecaster.forecast({ history: [...history], fromMs, slotMs, slots })
      const pvHistory = { timesMs: history.map((h) => h.startMs + slotMs / 2), powerKw: history.map((h) => h.pvW / 1000) }
      const site = options.pvArray
      const pvW = !site
        ? new Array<number>(slots).fill(0)
        : options.pv.kind === 'persistence'
          ? forecastPvPersistence({ site, fromMs, slotMs, slots, history: pvHistory, persistenceMs: options.pv.persistenceMs, climatologyQuantile: options.pv.climatologyQuantile ?? undefined }).powerKw.map((kw) => kw * 1000)
          : forecastPv({ site, fromMs, slotMs, slots, history: pvHistory }).forecast.map((f) => f.powerKw * 1000)
      const oracle = options.oracle
      const loadW = load.loadW.map((w, i) => (oracle?.load ? (oracle.truth.get(fromMs + i * slotMs)?.loadW ?? w) : w))
      return {
        loadW,
        pvW: pvW.map((w, i) => (oracle?.pv ? (oracle.truth.get(fromMs + i * slotMs)?.pvW ?? w) : w)),
        loadModel: oracle?.load ? 'oracle' : load.method === 'model' ? `model:${options.modelSource() ?? 'unknown'}` : load.method,
        loadMethod: oracle?.load ? 'oracle' : load.method,
        loadReason: load.reason ?? null,
        pvModel: oracle?.pv ? 'oracle' : !site ? 'none' : options.pv.kind === 'persistence' ? 'clear-sky-persistence' : 'clear-sky-scaled',
      }
    },
  }
}
