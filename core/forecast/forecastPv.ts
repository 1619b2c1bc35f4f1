import { clearSkyPvPower, type PvSite } from './clearSkyPvPower.ts'
import { daylightPvSamples } from './daylightPvSamples.ts'

export type ForecastPvParameters = {
  site: PvSite
  fromMs: number
  slotMs: number
  slots: number
  /** Measured production (kW) before `fromMs`; the last 3 days set the scale. */
  history?: { timesMs: ArrayLike<number>; powerKw: ArrayLike<number> } | undefined
}

export type ForecastPvResult = {
  forecast: { time: string; powerKw: number }[]
  /** Measured / clear-sky energy over the recent daylight slots (1 without history). */
  scale: number
  scaleSource: string
}

const recentMs = 3 * 86_400_000

/** PV forecast: clear-sky power at each slot's midpoint times a scale learned from recent measured production. */
export function forecastPv(parameters: ForecastPvParameters): ForecastPvResult {
  const { site, fromMs, slotMs, slots, history } = parameters
  let scale = 1
  let scaleSource = 'clear sky only (no measured production given)'
  if (history) {
    const samples = daylightPvSamples(site, history, fromMs, recentMs)
    const measured = samples.reduce((sum, x) => sum + x.measured, 0)
    const clear = samples.reduce((sum, x) => sum + x.clear, 0)
    const used = samples.length
    if (used >= 4 && clear > 0) {
      scale = Math.min(1.3, Math.max(0, measured / clear))
      scaleSource = `measured / clear-sky over ${used} daylight samples of the last 3 days`
    } else scaleSource = 'clear sky only (too few daylight measurements in the last 3 days)'
  }
  const forecast = Array.from({ length: slots }, (_, k) => {
    const start = fromMs + k * slotMs
    const powerKw = clearSkyPvPower(site, start + slotMs / 2).powerKw * scale
    return { time: new Date(start).toISOString(), powerKw: Math.round(powerKw * 1000) / 1000 }
  })
  return { forecast, scale, scaleSource }
}
