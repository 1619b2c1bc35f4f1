import type { PvResidual } from './calibratePvQuantiles.ts'

const hourMs = 3_600_000
const dayMs = 86_400_000

/** A PV forecast as issued: its slots' P50 and clear-sky power, kW. */
export type IssuedPvForecast = { fromMs: number; slotMs: number; powerKw: readonly number[]; clearSkyKw: readonly number[] }

/**
 * The PV forecasts a site issued (one an hour is kept, for `keepDays`), so their errors
 * against the production measured since calibrate the next forecasts' quantiles.
 */
export function createPvResidualLog(options: { keepDays?: number; everyMs?: number } = {}) {
  const keepMs = (options.keepDays ?? 14) * dayMs
  const everyMs = options.everyMs ?? hourMs
  const issued: IssuedPvForecast[] = []
  return {
    /** Keeps a forecast if none was kept within `everyMs` before it; drops those older than `keepDays`. */
    record(forecast: IssuedPvForecast): void {
      const last = issued[issued.length - 1]
      if (last && forecast.fromMs - last.fromMs < everyMs && forecast.fromMs >= last.fromMs) return
      issued.push(forecast)
      while (issued.length && issued[0]!.fromMs < forecast.fromMs - keepMs) issued.shift()
    },
    /** Residuals of the kept forecasts' daylight slots (clear sky at least `minClearKw`) that have a measurement (by slot start; undefined: not yet). */
    residuals(measuredKw: (startMs: number) => number | undefined, minClearKw: number): PvResidual[] {
      const out: PvResidual[] = []
      for (const f of issued) {
        for (let k = 0; k < f.powerKw.length; k++) {
          const clear = f.clearSkyKw[k]!
          if (clear < minClearKw) continue
          const measured = measuredKw(f.fromMs + k * f.slotMs)
          if (measured === undefined || !Number.isFinite(measured)) continue
          out.push({ leadMs: k * f.slotMs, residual: (measured - f.powerKw[k]!) / clear })
        }
      }
      return out
    },
  }
}
