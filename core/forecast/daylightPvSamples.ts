import { clearSkyPvPower, type PvSite } from './clearSkyPvPower.ts'

export type DaylightPvSample = { t: number; measured: number; clear: number }

/**
 * Measured production (kW at each sample's time) in [fromMs - windowMs, fromMs) where the clear-sky
 * output is at least a tenth of the peak, oldest first, with that clear-sky output: dawn and dusk
 * say little about the weather and a lot about shading, so the brighter hours only.
 */
export function daylightPvSamples(site: PvSite, history: { timesMs: ArrayLike<number>; powerKw: ArrayLike<number> }, fromMs: number, windowMs: number): DaylightPvSample[] {
  const samples: DaylightPvSample[] = []
  for (let i = 0; i < history.timesMs.length; i++) {
    const t = history.timesMs[i] ?? Number.NaN
    const measured = history.powerKw[i] ?? Number.NaN
    if (!(t < fromMs && t >= fromMs - windowMs) || !Number.isFinite(measured)) continue
    const clear = clearSkyPvPower(site, t).powerKw
    if (clear < 0.1 * site.peakPowerKw) continue
    samples.push({ t, measured, clear })
  }
  return samples.sort((a, b) => a.t - b.t)
}
