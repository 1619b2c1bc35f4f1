import { describe, expect, it } from 'vitest'
import { defaultTariff } from '../control/timeOfUseTariff.ts'
import type { Plan, PlanSlot } from '../schedule/planSchedule.ts'
import { SIDE_ASK, SIDE_BID } from '../market/typedData.ts'
import { orderFromPlan, type OrderFromPlanParameters } from './orderFromPlan.ts'

const startMs = Date.parse('2026-11-27T00:00:00Z') // 11:00 in Melbourne: import 0.25, export 0.05 EUR/kWh
const slot = (i: number, marketBuyW: number, marketSellW: number) => ({ startMs: startMs + i * 900_000, marketBuyW, marketSellW }) as PlanSlot
const plan = (slots: PlanSlot[]) => ({ slotDurationMs: 900_000, slots }) as Plan
const base: OrderFromPlanParameters = {
  plan: plan([slot(0, 0, 0), slot(1, 0, 0)]),
  siteId: 2,
  interval: 8n,
  intervalStartMs: startMs + 900_000,
  deadline: 99n,
  tariff: defaultTariff('Australia/Melbourne'),
  importCapWh: 5_000,
  exportCapWh: 1_000,
}

describe('orderFromPlan', () => {
  it('asks the plan’s market sale in the interval’s slot at the export tariff', () => {
    const { planned, order } = orderFromPlan({ ...base, plan: plan([slot(0, 9_999, 0), slot(1, 0, 2_000.4)]) })
    expect(planned).toEqual({ slotStartMs: startMs + 900_000, marketBuyW: 0, marketSellW: 2_000.4, plannedNetImportWh: -500 })
    expect(order).toEqual({ siteId: 2, interval: 8n, side: SIDE_ASK, energyWh: 500, limitPrice: 50_000n, deadline: 99n })
  })

  it('bids the plan’s market purchase at the import tariff of that slot', () => {
    const { order } = orderFromPlan({ ...base, plan: plan([slot(0, 0, 0), slot(1, 3_000, 0)]) })
    expect(order).toMatchObject({ side: SIDE_BID, energyWh: 750, limitPrice: 250_000n })
  })

  it('caps the order at the site’s registered cap and drops one too small to sign', () => {
    expect(orderFromPlan({ ...base, plan: plan([slot(0, 0, 0), slot(1, 0, 8_000)]) }).order).toMatchObject({ side: SIDE_ASK, energyWh: 1_000 })
    const tiny = orderFromPlan({ ...base, plan: plan([slot(0, 0, 0), slot(1, 20, 0)]) })
    expect(tiny.planned.plannedNetImportWh).toBe(5)
    expect(tiny.order).toBeNull()
  })

  it('takes the slot a shorter, unaligned interval starts in, over the interval’s length', () => {
    const { planned, order } = orderFromPlan({ ...base, plan: plan([slot(0, 0, 0), slot(1, 0, 2_000)]), intervalStartMs: startMs + 900_000 + 420_000, intervalMs: 60_000 })
    expect(planned).toEqual({ slotStartMs: startMs + 900_000, marketBuyW: 0, marketSellW: 2_000, plannedNetImportWh: -33 })
    expect(order).toMatchObject({ side: SIDE_ASK, energyWh: 33 })
  })

  it('says which interval the plan does not cover', () => {
    expect(() => orderFromPlan({ ...base, intervalStartMs: startMs + 3 * 900_000 })).toThrow(
      'site 2 interval 8: the plan has no slot at 2026-11-27T00:45:00.000Z; expected one of its 2 slots from 2026-11-27T00:00:00.000Z',
    )
  })
})
