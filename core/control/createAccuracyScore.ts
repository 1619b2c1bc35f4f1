import type { ForecastAccuracy } from '../forecast/measureForecastAccuracy.ts'
import { measureForecastAccuracy } from '../forecast/measureForecastAccuracy.ts'
import type { ForecastRecord } from '../store/createStore.ts'

const dayMs = 86_400_000

export type AccuracyScoreOptions = {
  slotMs: number
  /** Stored load forecasts that cover [startMs, endMs). */
  forecastsFor: (q: { kind: 'load'; startMs: number; endMs: number }) => ForecastRecord[]
  /** Measured slot means of load by slot start. */
  loadW: () => ReadonlyMap<number, { loadW: number }>
  /** Changes whenever what is known changes (a slot closed, a forecast stored). */
  version: () => string
  localMidnight: (utcMs: number) => number
}

/** Yesterday (local day) scored against the forecasts stored for it: day-ahead, short lead and the seasonal-naive baseline; cached until something changes. */
export function createAccuracyScore(options: AccuracyScoreOptions) {
  let cached: { key: string; value: ForecastAccuracy } | null = null
  return (nowMs: number): ForecastAccuracy => {
    const todayStart = options.localMidnight(nowMs)
    const dayStartMs = options.localMidnight(todayStart - dayMs / 2)
    const key = `${dayStartMs}:${options.version()}`
    if (cached?.key === key) return cached.value
    const forecasts = options.forecastsFor({ kind: 'load', startMs: dayStartMs - dayMs, endMs: todayStart })
    const actualW = new Map([...options.loadW()].filter(([t]) => t >= dayStartMs - dayMs && t < todayStart).map(([t, h]) => [t, h.loadW]))
    const value = measureForecastAccuracy({ fromMs: dayStartMs, toMs: todayStart, slotMs: options.slotMs, forecasts: forecasts.filter((f) => f.createdAtMs < todayStart), actualW })
    cached = { key, value }
    return value
  }
}
