import { describe, expect, it } from 'vitest'
import type { Plan, PlanSlot } from '../schedule/planSchedule.ts'
import { createSiteMarketPort } from './createSiteMarketPort.ts'

const tariff = { timezone: 'UTC', importBands: [], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.08 }
const anchorMs = Date.parse('2026-12-02T10:00:07Z')
const plan = (slots: Partial<PlanSlot>[]) => ({ slotDurationMs: 900_000, slots: slots.map((s) => ({ marketBuyW: 0, marketSellW: 0, ...s })) }) as Plan

describe('createSiteMarketPort', () => {
  it('opens the plan to the market from the interval it is told, at the midpoint of the tariffs, within the caps', () => {
    const m = createSiteMarketPort({ anchorMs, intervalMs: 60_000, maxBuyPowerW: 3_000, maxSellPowerW: 4_000, tariff })
    expect(m.port.planMarket(anchorMs)?.fromMs).toBe(Number.POSITIVE_INFINITY)
    m.openFrom(anchorMs + 120_000)
    const market = m.port.planMarket(anchorMs)!
    expect(market).toMatchObject({ fromMs: anchorMs + 120_000, maxBuyPowerW: 3_000, maxSellPowerW: 4_000 })
    expect(market.priceAt(anchorMs)).toBeCloseTo(0.19)
  })

  it('has the loop deliver a committed trade beyond what the plan in force carries, only inside its interval', () => {
    const m = createSiteMarketPort({ anchorMs, intervalMs: 60_000, maxBuyPowerW: 3_000, maxSellPowerW: 4_000, tariff })
    // 50 Wh sold in one minute is 3 kW; the plan's slot (aligned on the quarter hour, not on the interval) already sells 1 kW
    m.commit(anchorMs + 60_000, 50)
    const p = plan([{ startMs: Date.parse('2026-12-02T10:00:00Z'), marketSellW: 1_000 }])
    expect(m.port.commitment(anchorMs + 30_000, p)).toBeNull()
    expect(m.port.commitment(anchorMs + 61_000, p)).toEqual({ extraExportW: 2_000, committedW: 3_000 })
    expect(m.port.commitment(anchorMs + 119_999, null)).toEqual({ extraExportW: 3_000, committedW: 3_000 })
    expect(m.port.commitment(anchorMs + 120_000, p)).toBeNull()
    m.commit(anchorMs + 120_000, -25)
    expect(m.port.commitment(anchorMs + 150_000, p)).toEqual({ extraExportW: -2_500, committedW: -1_500 })
  })
})
