import type { CycleReport, Plan, PlanSlot } from '../transport/apiTypes.ts'

export type SiteFlows = {
  timeMs: number | null
  pvW: number | null
  /** Sum over batteries, > 0 discharge. */
  batteryW: number | null
  /** > 0 import. */
  gridW: number | null
  /** load = pv + battery + grid, the one sign convention; null when a term is missing. */
  loadW: number | null
  socPct: number | null
  /** Market position now, > 0 sold: the cleared interval's when one is in force, else the plan slot's. */
  marketW: number | null
  /** where marketW comes from: a cleared interval ('committed'; 'not delivered' under an operator's override), or the plan */
  marketSource: 'committed' | 'not delivered' | 'plan'
  slot: PlanSlot | null
  slotIndex: number | null
}

/** The overview's numbers from one cycle and the plan: flows by the site's sign convention and the plan slot in force. */
export function siteFlows(cycle: CycleReport | null, plan: Plan | null): SiteFlows {
  const snap = cycle?.snapshot
  const batteries = snap?.batteries ?? []
  const batteryW = batteries.length === 0 ? (snap ? 0 : null) : batteries.some((b) => b.powerW == null) ? null : batteries.reduce((s, b) => s + (b.powerW ?? 0), 0)
  const socs = batteries.map((b) => b.socPct).filter((s): s is number => s != null)
  const pvW = snap?.pvW ?? null
  const gridW = snap?.gridW ?? null
  const loadW = pvW != null && gridW != null && batteryW != null ? pvW + gridW + batteryW : null
  const at = cycle?.planSlotStartMs ?? snap?.timeMs ?? null
  const slotIndex = plan && at != null ? plan.slots.findIndex((s) => s.startMs <= at && at < s.startMs + plan.slotDurationMs) : -1
  const slot = plan && slotIndex >= 0 ? (plan.slots[slotIndex] ?? null) : null
  const plannedW = slot && (slot.marketSellW !== 0 || slot.marketBuyW !== 0) ? slot.marketSellW - slot.marketBuyW : null
  const committed = cycle?.market?.committedW != null ? cycle.market : null
  const marketW = committed ? (committed.committedW === 0 ? null : committed.committedW) : plannedW
  const marketSource = committed ? (committed.delivered ? 'committed' : 'not delivered') : 'plan'
  return { timeMs: snap?.timeMs ?? null, pvW, batteryW, gridW, loadW, socPct: socs.length ? socs.reduce((a, b) => a + b, 0) / socs.length : null, marketW, marketSource, slot, slotIndex: slotIndex >= 0 ? slotIndex : null }
}
