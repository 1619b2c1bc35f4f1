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
        pvPowerW: Math.max(0, p.pvW[i] ?? 0),
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
