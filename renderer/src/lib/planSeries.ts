import type { ForecastResult, Plan } from '../transport/apiTypes.ts'
import type { TimeSeries } from './alignSeries.ts'

export type PlanOverlay = 'planBatteryW' | 'planSocPct' | 'importPrice' | 'forecastLoadW' | 'forecastPvW'

/** The plan's and the forecast's numbers as time series inside [fromMs, toMs], for one shared time axis with telemetry. */
export function planSeries(kind: PlanOverlay, plan: Plan | null, forecast: ForecastResult | null, fromMs: number, toMs: number): TimeSeries {
  const t: number[] = []
  const v: (number | null)[] = []
  const inRange = (ms: number) => ms >= fromMs && ms <= toMs
  if (kind === 'forecastLoadW' || kind === 'forecastPvW') {
    const rec = kind === 'forecastLoadW' ? forecast?.load : forecast?.pv
    rec?.valuesW.forEach((w, i) => {
      const ms = rec.startMs + i * rec.slotMs
      if (inRange(ms)) (t.push(ms), v.push(w))
    })
    return { t, v }
  }
  for (const s of plan?.slots ?? []) {
    if (!inRange(s.startMs)) continue
    t.push(s.startMs)
    v.push(kind === 'planBatteryW' ? s.batteryPowerW : kind === 'planSocPct' ? s.socPct : s.importPriceEurPerKWh)
  }
  return { t, v }
}
