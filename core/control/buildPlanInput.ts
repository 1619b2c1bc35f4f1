import type { PlanInputParameters } from '../schedule/planInputSchema.ts'
import type { BatteryLimits } from './decideSetpoints.ts'
import { importPriceAt, type Tariff } from './timeOfUseTariff.ts'

/** How a site's plans are asked for, beside its forecasts; `gridmesh serve` uses the defaults (siteRuntimeDefaults). */
export type PlanSettings = {
  /** Soft SoC goal at the horizon's end, %; null sets none. */
  targetEndSocPct: number | null
  degradationCostEurPerKWh: number
  /**
   * The plan sees the export price this much lower in the first slot, rising linearly to the
   * real price at the horizon's end. The cost MILP is often indifferent between storing PV
   * surplus now and exporting it now to store it later; under forecast error storing first
   * is the robust order, and this breaks the tie that way.
   */
  exportTieBreakEurPerKWh: number
  /**
   * Keep SoC headroom against the load forecast's P90 in peak-price slots (planInputSchema's
   * loadP90PowerW), where the forecast gives one. Default off; core/control/backtest/NOTES.md
   * (section 7) says what it was measured to do.
   */
  loadP90Headroom?: boolean
  /**
   * Plan PV on this quantile of its forecast (0.5 or absent: the P50), read off the forecast's
   * P10/P90 band as a normal spread; where there is no band, the P50. Under forecast error the
   * two ways of being wrong about PV do not cost the same (NOTES.md section 10).
   */
  pvPlanQuantile?: number
}

/** The market as plan variables: open from `fromMs`, at the price a site expects it to clear at, within the site's registered caps. */
export type PlanMarket = { fromMs: number; maxBuyPowerW: number; maxSellPowerW: number; priceAt: (slotStartMs: number) => number }

export type BuildPlanInputParameters = {
  startMs: number
  slotMs: number
  /** forecasts, one value per slot, W; their length is the horizon */
  loadW: readonly number[]
  pvW: readonly number[]
  /** The load forecast's P90 per slot, W (absent: none); used when settings.loadP90Headroom. */
  loadP90W?: readonly number[] | null | undefined
  /** The PV forecast's P10 and P90 per slot, W (absent: none); used when settings.pvPlanQuantile is not 0.5. */
  pvP10W?: readonly number[] | null | undefined
  pvP90W?: readonly number[] | null | undefined
  tariff: Tariff
  battery: { capacityWh: number; socPct: number; limits: BatteryLimits }
  grid: { maxImportW: number | null; maxExportW: number | null }
  settings: PlanSettings
  market?: PlanMarket | null
}

/** The cost MILP's input for one site: its forecasts, tariff, battery within the loop's limits, grid limits and optionally the market. */
export function buildPlanInput(p: BuildPlanInputParameters): PlanInputParameters {
  const { limits } = p.battery
  const last = Math.max(1, p.loadW.length - 1)
  const tieBreak = p.settings.exportTieBreakEurPerKWh
  const p90 = p.settings.loadP90Headroom && p.loadP90W && p.loadP90W.length > 0 ? p.loadP90W : null
  const pvW = pvAtQuantile(p.pvW, p.pvP10W, p.pvP90W, p.settings.pvPlanQuantile ?? 0.5)
  return {
    startMs: p.startMs,
    slotDurationMs: p.slotMs,
    objective: 'cost',
    slots: p.loadW.map((loadW, i) => {
      const t = p.startMs + i * p.slotMs
      // A slot is open to the market when any of it is: with market intervals shorter than the
      // slot (60 s in a test community) the running slot still holds intervals not yet ordered,
      // and the order for one reads the slot it starts in. With slot-aligned intervals this is
      // the slots from fromMs on, as before.
      const price = p.market && t + p.slotMs > p.market.fromMs ? p.market.priceAt(t) : null
      return {
        loadPowerW: Math.max(0, loadW),
        pvPowerW: Math.max(0, pvW[i] ?? 0),
        ...(p90 && Number.isFinite(p90[i]) && { loadP90PowerW: Math.max(0, p90[i]!) }),
        importPriceEurPerKWh: importPriceAt(p.tariff, t),
        exportPriceEurPerKWh: p.tariff.exportEurPerKWh - tieBreak * (1 - i / last),
        ...(price !== null && { marketBuyPriceEurPerKWh: price, marketSellPriceEurPerKWh: price }),
      }
    }),
    battery: {
      capacityWh: p.battery.capacityWh,
      socPct: Math.min(limits.socMaxPct, Math.max(limits.socMinPct, p.battery.socPct)),
      minSocPct: limits.socMinPct,
      maxSocPct: limits.socMaxPct,
      maxChargePowerW: limits.maxChargeW,
      maxDischargePowerW: limits.maxDischargeW,
      chargeEfficiency: 0.95,
      dischargeEfficiency: 0.95,
      degradationCostEurPerKWh: p.settings.degradationCostEurPerKWh,
      ...(p.settings.targetEndSocPct !== null && { targetEndSocPct: Math.max(limits.socMinPct, p.settings.targetEndSocPct) }),
    },
    grid: { ...(p.grid.maxImportW !== null && { maxImportPowerW: p.grid.maxImportW }), ...(p.grid.maxExportW !== null && { maxExportPowerW: p.grid.maxExportW }) },
    ...(p.market && { market: { maxBuyPowerW: p.market.maxBuyPowerW, maxSellPowerW: p.market.maxSellPowerW } }),
  }
}

/** Standard normal quantile (Acklam's rational approximation; relative error below 1.2e-9). */
function normalQuantile(q: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239]
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572]
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783]
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416]
  const tail = (r: number) => (((((c[0]! * r + c[1]!) * r + c[2]!) * r + c[3]!) * r + c[4]!) * r + c[5]!) / ((((d[0]! * r + d[1]!) * r + d[2]!) * r + d[3]!) * r + 1)
  if (q < 0.02425) return tail(Math.sqrt(-2 * Math.log(q)))
  if (q > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - q)))
  const x = q - 0.5
  const r = x * x
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * x) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
}

/**
 * The PV of each slot at quantile `q` of its forecast: the P50 moved toward the P90 (q > 0.5) or
 * the P10 (q < 0.5) by z(q) / z(0.9) of the way, each side's band read as half a normal spread.
 * Without a band (or at q = 0.5) the P50 unchanged.
 */
function pvAtQuantile(p50W: readonly number[], p10W: readonly number[] | null | undefined, p90W: readonly number[] | null | undefined, q: number): readonly number[] {
  if (q === 0.5 || !p10W || !p90W || p10W.length !== p50W.length || p90W.length !== p50W.length) return p50W
  const share = normalQuantile(q) / normalQuantile(0.9)
  return p50W.map((w, i) => {
    const edge = q > 0.5 ? p90W[i]! : p10W[i]!
    return Number.isFinite(edge) ? w + Math.abs(share) * (edge - w) : w
  })
}
