import type { NormalizedPlanInput } from './normalizePlanInput.ts'

/** What the same forecast and prices would cost without the plan: the HMI shows the plan's cost beside these. */
export type ReferenceCosts = {
  /** No battery at all: the grid takes load less PV (and the plan's flexible loads) in every slot. */
  noBatteryEur: number
  /**
   * Plain self-consumption, the rule a battery follows without a plan: charge from PV
   * surplus, discharge into deficits, within the same power, SoC and efficiency limits;
   * null without a battery. Its degradation cost is counted, as the plan's is.
   */
  selfConsumptionEur: number | null
  /** Where self-consumption leaves the battery at the horizon's end (the plan may end elsewhere). */
  selfConsumptionEndSocPct: number | null
}

const roundEur = (v: number) => Math.round(v * 1e4) / 1e4

/**
 * The two references a plan is judged against, on the plan's own forecast and prices (no
 * market, no peak charge: the plan's cost breakdown shows those apart). Export is capped
 * at the grid's export limit, as the site's curtailment would.
 */
export function computeReferenceCosts(n: NormalizedPlanInput, flexibleKw: readonly number[]): ReferenceCosts {
  const h = n.slotHours
  const maxExportKw = n.input.grid.maxExportPowerW === undefined ? Number.POSITIVE_INFINITY : n.input.grid.maxExportPowerW / 1000
  const gridCost = (t: number, netKw: number) => (netKw >= 0 ? n.importPrice[t]! * netKw : -n.exportPrice[t]! * Math.min(-netKw, maxExportKw)) * h
  let noBattery = 0
  for (let t = 0; t < n.slotCount; t++) noBattery += gridCost(t, n.loadKw[t]! + (flexibleKw[t] ?? 0) - n.pvKw[t]!)
  const b = n.battery
  if (!b) return { noBatteryEur: roundEur(noBattery), selfConsumptionEur: null, selfConsumptionEndSocPct: null }
  let socKWh = b.initialKWh
  let selfConsumption = 0
  for (let t = 0; t < n.slotCount; t++) {
    const netKw = n.loadKw[t]! + (flexibleKw[t] ?? 0) - n.pvKw[t]!
    let batteryKw = 0 // > 0 discharges
    if (netKw < 0) {
      const roomKWh = Math.max(0, b.maxKWh[t]! - socKWh)
      const chargeKw = Math.min(-netKw, b.maxChargeKw, roomKWh / (b.chargeEfficiency * h))
      socKWh += chargeKw * b.chargeEfficiency * h
      batteryKw = -chargeKw
    } else if (netKw > 0) {
      const availableKWh = Math.max(0, socKWh - b.minKWh[t]!)
      const dischargeKw = Math.min(netKw, b.maxDischargeKw, (availableKWh * b.dischargeEfficiency) / h)
      socKWh -= (dischargeKw / b.dischargeEfficiency) * h
      batteryKw = dischargeKw
    }
    selfConsumption += gridCost(t, netKw - batteryKw) + b.degradationEurPerKWh * Math.abs(batteryKw) * h
  }
  return { noBatteryEur: roundEur(noBattery), selfConsumptionEur: roundEur(selfConsumption), selfConsumptionEndSocPct: Math.round((socKWh / b.capacityKWh) * 1000) / 10 }
}
