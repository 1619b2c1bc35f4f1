import { importPriceAt, type Tariff } from '../control/timeOfUseTariff.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import { buildOrder } from '../market/buildOrder.ts'
import type { Order } from '../market/typedData.ts'
import { TradingError } from './TradingError.ts'

/** Settlement-token base units per EUR: the demo's token has 6 decimals and stands for 1 EUR. */
export const unitsPerEur = 1_000_000

/** Orders under this are not worth a signature. */
export const minOrderWh = 10

/** The plan's market quantities in one slot, and the energy they make over the interval (> 0 import). */
export type PlannedMarketSlot = { slotStartMs: number; marketBuyW: number; marketSellW: number; plannedNetImportWh: number }

export type OrderFromPlanParameters = {
  plan: Plan
  siteId: number
  interval: bigint
  intervalStartMs: number
  /** the market interval's length; default the plan's slot (the interval may be shorter than a slot, and need not start on one) */
  intervalMs?: number
  deadline: bigint
  tariff: Tariff
  importCapWh: number
  exportCapWh: number
}

/**
 * The order for one interval: the plan's market power in the slot the interval starts in,
 * over the interval, capped by the site's registered caps, limited by the site's economics:
 * it sells for no less than exporting earns it and buys for no more than its import tariff
 * in that slot.
 */
export function orderFromPlan(p: OrderFromPlanParameters): { planned: PlannedMarketSlot; order: Order | null } {
  const slotMs = p.plan.slotDurationMs
  const slot = p.plan.slots.find((s) => s.startMs <= p.intervalStartMs && p.intervalStartMs < s.startMs + slotMs)
  if (!slot) {
    const first = p.plan.slots[0]?.startMs
    throw new TradingError(`site ${p.siteId} interval ${p.interval}: the plan has no slot at ${new Date(p.intervalStartMs).toISOString()}; expected one of its ${p.plan.slots.length} slots from ${first === undefined ? 'none' : new Date(first).toISOString()}`)
  }
  const hours = (p.intervalMs ?? slotMs) / 3_600_000
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
