import type { BatteryLimits } from '../../control/decideSetpoints.ts'
import { importPriceAt, type Tariff } from '../../control/timeOfUseTariff.ts'
import type { PlanInputParameters } from '../../schedule/planInputSchema.ts'

// As the backtest and the live service plan (core/control/backtest/NOTES.md): plans see the
// export price this much lower in the first slot, rising to the real one at the horizon's
// end, so at equal cost surplus is stored before it is exported.
const exportTieBreakEurPerKWh = 0.005

/**
 * The price a site expects the market to clear at in a slot: the auction's uniform price is
 * the midpoint of the last matched bid and ask, and sites bid their import tariff and ask
 * their export tariff, so on one tariff it clears halfway between the two.
 */
export function expectedMarketPriceEurPerKWh(tariff: Tariff, slotStartMs: number): number {
  return (importPriceAt(tariff, slotStartMs) + tariff.exportEurPerKWh) / 2
}

export type BuildDemoPlanInputParameters = {
  startMs: number
  slotMs: number
  /** forecasts, one value per slot, W */
  loadW: number[]
  pvW: number[]
  tariff: Tariff
  battery: { capacityWh: number; socPct: number; limits: BatteryLimits }
  /** Slots starting at or after this are open to the market; earlier ones are cleared already (their trades are commitments the loop delivers). */
  marketFromMs: number
  /** the site's registered caps per interval, as power */
  market: { maxBuyPowerW: number; maxSellPowerW: number }
  /** soft SoC goal at the horizon's end, % (the backtest's 30 %) */
  endSocTargetPct?: number
}

/** The cost MILP's input for one demo site: its forecasts, tariff and battery, and the market as plan variables in the open slots. */
export function buildDemoPlanInput(p: BuildDemoPlanInputParameters): PlanInputParameters {
  const { limits } = p.battery
  const slots = p.loadW.length
  return {
    startMs: p.startMs,
    slotDurationMs: p.slotMs,
    objective: 'cost',
    slots: p.loadW.map((loadW, i) => {
      const t = p.startMs + i * p.slotMs
      const marketPrice = expectedMarketPriceEurPerKWh(p.tariff, t)
      return {
        loadPowerW: Math.max(0, loadW),
        pvPowerW: Math.max(0, p.pvW[i] ?? 0),
        importPriceEurPerKWh: importPriceAt(p.tariff, t),
        exportPriceEurPerKWh: p.tariff.exportEurPerKWh - exportTieBreakEurPerKWh * (1 - i / Math.max(1, slots - 1)),
        ...(t >= p.marketFromMs && { marketBuyPriceEurPerKWh: marketPrice, marketSellPriceEurPerKWh: marketPrice }),
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
      degradationCostEurPerKWh: 0.01,
      targetEndSocPct: Math.max(limits.socMinPct, p.endSocTargetPct ?? 30),
    },
    grid: {},
    market: p.market,
  }
}
