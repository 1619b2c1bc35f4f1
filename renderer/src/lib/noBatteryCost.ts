import type { Plan } from '../transport/apiTypes.ts'

/**
 * The energy cost of the plan's own forecast with the battery idle and PV uncurtailed:
 * load minus PV bought at each slot's import price or sold at its export price. The
 * plan's expectedCostEur against it is what the battery earns (peak and degradation
 * terms aside, which this reference does not have).
 */
export function noBatteryCost(plan: Plan): number {
  const hours = plan.slotDurationMs / 3_600_000
  let eur = 0
  for (const s of plan.slots) {
    const netKw = (s.loadPowerW - s.pvPowerW - s.pvCurtailedW) / 1000
    eur += netKw * hours * (netKw > 0 ? s.importPriceEurPerKWh : s.exportPriceEurPerKWh)
  }
  return eur
}
