import { importPriceAt, type Tariff } from '../../control/timeOfUseTariff.ts'
import type { Plan } from '../../schedule/planSchedule.ts'
import { buildOrder } from '../../market/buildOrder.ts'
import type { Order } from '../../market/typedData.ts'
import { DemoSiteError } from './DemoSiteError.ts'

/** Settlement-token base units per EUR: the demo's token has 6 decimals and stands for 1 EUR. */
export const unitsPerEur = 1_000_000

/** Orders under this are not worth a signature. */
export const minOrderWh = 10

/** The plan's market quantities in one slot, and the energy they make over it (> 0 import). */
export type PlannedMarketSlot = { slotStartMs: number; marketBuyW: number; marketSellW: number; plannedNetImportWh: number }

export type OrderFromPlanParameters = {
  plan: Plan
  siteId: number
  interval: bigint
  intervalStartMs: number
  deadline: bigint
  tariff: Tariff
  importCapWh: number
  exportCapWh: number
}

/**
 * The order for one interval: the plan's market quantity in the interval's slot, capped by
 * the site's registered caps, limited by the site's economics: it sells for no less than
 * exporting earns it and buys for no more than its import tariff in that slot.
 */
export function orderFromPlan(p: OrderFromPlanParameters): { planned: PlannedMarketSlot; order: Order | null } {
  const slot = p.plan.slots.find((s) => s.startMs === p.intervalStartMs)
  if (!slot) {
    const first = p.plan.slots[0]?.startMs
    throw new DemoSiteError(`site ${p.siteId} interval ${p.interval}: the plan has no slot at ${new Date(p.intervalStartMs).toISOString()}; expected one of its ${p.plan.slots.length} slots from ${first === undefined ? 'none' : new Date(first).toISOString()}`)
  }
  const hours = p.plan.slotDurationMs / 3_600_000
  const plannedNetImportWh = Math.round((slot.marketBuyW - slot.marketSellW) * hours)
  const order = buildOrder({
    siteId: p.siteId,
    interval: p.interval,
    netImportWh: plannedNetImportWh,
    limits: {
      minSellPrice: BigInt(Math.round(p.tariff.exportEurPerKWh * unitsPerEur)),
      maxBuyPrice: BigInt(Math.round(importPriceAt(p.tariff, p.intervalStartMs) * unitsPerEur)),
      minOrderWh,
    },
    importCapWh: p.importCapWh,
    exportCapWh: p.exportCapWh,
    deadline: p.deadline,
  })
  return { planned: { slotStartMs: slot.startMs, marketBuyW: slot.marketBuyW, marketSellW: slot.marketSellW, plannedNetImportWh }, order }
}
