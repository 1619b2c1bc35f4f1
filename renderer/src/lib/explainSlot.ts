import { formatEur } from './formatEur.ts'
import { formatPower } from './formatPower.ts'
import type { Plan, PlanSlot } from '../transport/apiTypes.ts'

/**
 * Why the battery does what the plan slot says, in the operator's words: the forecast
 * (PV surplus or deficit), the price now against the rest of the plan, and the limits
 * the control loop reports. Derived from the plan's own numbers, nothing guessed.
 */
export function explainSlot(slot: PlanSlot, plan: Plan, limits: readonly string[] = []): string[] {
  const why: string[] = []
  const surplusW = slot.pvPowerW - slot.loadPowerW
  const later = plan.slots.filter((s) => s.startMs > slot.startMs)
  const maxLater = later.reduce((m, s) => Math.max(m, s.importPriceEurPerKWh), -Infinity)
  const minLater = later.reduce((m, s) => Math.min(m, s.importPriceEurPerKWh), Infinity)
  if (slot.batteryPowerW < -10) {
    if (surplusW > 10) why.push(`charging with the forecast PV surplus of ${formatPower(surplusW)} (PV ${formatPower(slot.pvPowerW)}, load ${formatPower(slot.loadPowerW)})`)
    else why.push(`charging from the grid at ${formatEur(slot.importPriceEurPerKWh, true)}${Number.isFinite(maxLater) ? `, below the ${formatEur(maxLater, true)} ahead` : ''}`)
  } else if (slot.batteryPowerW > 10) {
    why.push(`discharging to cover load ${formatPower(slot.loadPowerW)} beyond PV ${formatPower(slot.pvPowerW)} at import ${formatEur(slot.importPriceEurPerKWh, true)}${Number.isFinite(minLater) && minLater < slot.importPriceEurPerKWh ? ` (cheaper later: ${formatEur(minLater, true)})` : ''}`)
  } else {
    why.push(surplusW > 10 ? `holding: the PV surplus ${formatPower(surplusW)} is exported at ${formatEur(slot.exportPriceEurPerKWh, true)}` : `holding: import at ${formatEur(slot.importPriceEurPerKWh, true)} is not worth shifting`)
  }
  if (slot.pvCurtailedW > 10) why.push(`PV curtailed by ${formatPower(slot.pvCurtailedW)}`)
  if (slot.marketSellW > 0) why.push(`market: selling ${formatPower(slot.marketSellW)}`)
  if (slot.marketBuyW > 0) why.push(`market: buying ${formatPower(slot.marketBuyW)}`)
  for (const l of limits) why.push(`limit: ${l}`)
  return why
}
