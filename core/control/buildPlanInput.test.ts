import { describe, expect, it } from 'vitest'
import { planSchedule } from '../schedule/planSchedule.ts'
import { buildPlanInput } from './buildPlanInput.ts'
import { defaultTariff, importPriceAt } from './timeOfUseTariff.ts'

const tariff = defaultTariff('Australia/Melbourne')
// 11:00 in Melbourne (AEDT): the shoulder band, 0.25 EUR/kWh import, 0.05 export
const startMs = Date.parse('2026-11-27T00:00:00Z')
const slotMs = 900_000
const limits = { maxChargeW: 2_500, maxDischargeW: 2_500, socMinPct: 10, socMaxPct: 95, rampWPerS: Infinity }
const input = (p: { loadW: number[]; pvW: number[]; socPct: number; marketFromMs?: number }) =>
  buildPlanInput({
    startMs, slotMs, loadW: p.loadW, pvW: p.pvW, tariff, battery: { capacityWh: 5_000, socPct: p.socPct, limits }, grid: { maxImportW: null, maxExportW: null },
    settings: { targetEndSocPct: 30, degradationCostEurPerKWh: 0.01, exportTieBreakEurPerKWh: 0.005 },
    market: { fromMs: p.marketFromMs ?? startMs, maxBuyPowerW: 20_000, maxSellPowerW: 20_000, priceAt: (t) => (importPriceAt(tariff, t) + tariff.exportEurPerKWh) / 2 },
  })

describe('buildPlanInput with the market', () => {
  it('opens the market from the first uncleared slot on, at the expected price both ways', () => {
    const slots = input({ loadW: [1_000, 1_000, 1_000], pvW: [0, 0, 0], socPct: 50, marketFromMs: startMs + slotMs }).slots
    expect(slots[0]).not.toHaveProperty('marketSellPriceEurPerKWh')
    expect(slots[0]).not.toHaveProperty('marketBuyPriceEurPerKWh')
    expect(slots[1]).toMatchObject({ marketSellPriceEurPerKWh: 0.15, marketBuyPriceEurPerKWh: 0.15, importPriceEurPerKWh: 0.25 })
  })

  it('opens the running slot when market intervals shorter than it start inside it (60 s intervals: the next one is in the slot)', () => {
    // before: the slot holding the next open 60 s interval was closed, so a site never ordered (market-live-serve, G1)
    const slots = input({ loadW: [1_000, 1_000, 1_000], pvW: [0, 0, 0], socPct: 50, marketFromMs: startMs + 7 * 60_000 }).slots
    expect(slots[0]).toMatchObject({ marketSellPriceEurPerKWh: 0.15, marketBuyPriceEurPerKWh: 0.15 })
    expect(slots[1]).toMatchObject({ marketSellPriceEurPerKWh: 0.15 })
    // a slot that ends exactly where the market opens stays closed
    expect(input({ loadW: [1_000, 1_000], pvW: [0, 0], socPct: 50, marketFromMs: startMs + slotMs }).slots[0]).not.toHaveProperty('marketSellPriceEurPerKWh')
  })

  it('lets the plan sell a full battery’s PV surplus on the market and buy a deficit there instead of importing', async () => {
    const surplus = await planSchedule(input({ loadW: [1_000, 1_000], pvW: [6_000, 6_000], socPct: 95 }))
    expect(surplus.slots[0]!.marketSellW).toBeGreaterThan(4_000)
    expect(surplus.slots[0]!.marketBuyW).toBe(0)
    const deficit = await planSchedule(input({ loadW: [4_000, 4_000], pvW: [0, 0], socPct: 10 }))
    expect(deficit.slots[0]!.marketBuyW).toBeGreaterThanOrEqual(4_000)
    expect(deficit.slots[0]!.marketSellW).toBe(0)
  })

  it('sees the export price lower by the tie-break in the first slot, rising to the real one at the horizon end, and no market without one', () => {
    const plain = buildPlanInput({ startMs, slotMs, loadW: [1_000, 1_000, 1_000], pvW: [0, 0, 0], tariff, battery: { capacityWh: 5_000, socPct: 50, limits }, grid: { maxImportW: 9_000, maxExportW: null }, settings: { targetEndSocPct: null, degradationCostEurPerKWh: 0.01, exportTieBreakEurPerKWh: 0.005 } })
    plain.slots.forEach((s, i) => expect(s.exportPriceEurPerKWh).toBeCloseTo([0.045, 0.0475, 0.05][i]!, 12))
    expect(plain.slots[0]).not.toHaveProperty('marketSellPriceEurPerKWh')
    expect(plain).not.toHaveProperty('market')
    expect(plain.battery).not.toHaveProperty('targetEndSocPct')
    expect(plain.grid).toEqual({ maxImportPowerW: 9_000 })
  })
})

describe('buildPlanInput with the load P90', () => {
  // 14:00 in Melbourne (AEDT), then the 15:00-21:00 peak: 4 shoulder slots and 4 peak slots.
  const fromMs = Date.parse('2026-11-27T03:00:00Z')
  const p = (loadP90Headroom: boolean | undefined, loadP90W: number[] | null) =>
    buildPlanInput({
      startMs: fromMs, slotMs, loadW: new Array(8).fill(1_000), pvW: new Array(8).fill(0), loadP90W, tariff, battery: { capacityWh: 10_000, socPct: 50, limits }, grid: { maxImportW: null, maxExportW: null },
      settings: { targetEndSocPct: null, degradationCostEurPerKWh: 0, exportTieBreakEurPerKWh: 0, ...(loadP90Headroom !== undefined && { loadP90Headroom }) },
    })

  it('passes the P90 to the plan only when the headroom setting is on, and the plan keeps the headroom through the peak', async () => {
    const p90 = [1_500, 1_500, 1_500, 1_500, 2_000, 2_000, 2_000, Number.NaN]
    expect(p(undefined, p90).slots.some((s) => 'loadP90PowerW' in s)).toBe(false)
    expect(p(false, p90).slots.some((s) => 'loadP90PowerW' in s)).toBe(false)
    const on = p(true, p90)
    expect(on.slots.map((s) => s.loadP90PowerW)).toEqual([1_500, 1_500, 1_500, 1_500, 2_000, 2_000, 2_000, undefined])
    expect(on.slots.map((s) => s.importPriceEurPerKWh)).toEqual([0.25, 0.25, 0.25, 0.25, 0.38, 0.38, 0.38, 0.38])
    const plain = await planSchedule(p(false, p90))
    const hedged = await planSchedule(on)
    // Three peak slots 1 kW over the forecast: 0.75 kWh AC, 0.79 kWh stored, kept to the end of the horizon.
    expect(hedged.slots[7]!.socPct! - plain.slots[7]!.socPct!).toBeCloseTo((100 * 0.75) / 0.95 / 10, 1)
    expect(hedged.slots[6]!.reasons?.[0]).toMatch(/^load P90 2000 W at the peak import price 0\.38 EUR\/kWh: keeps 0\.79 kWh/)
    expect(plain.slots.every((s) => s.reasons === undefined)).toBe(true)
  })
})

describe('buildPlanInput with a PV plan quantile', () => {
  const p50 = [0, 1_000, 3_000, 2_000]
  const p10 = [0, 600, 1_800, 2_000]
  const p90 = [0, 1_400, 3_900, 2_600]
  const pvOf = (pvPlanQuantile: number | undefined, band: boolean) =>
    buildPlanInput({
      startMs, slotMs, loadW: [500, 500, 500, 500], pvW: p50, ...(band && { pvP10W: p10, pvP90W: p90 }), tariff, battery: { capacityWh: 5_000, socPct: 50, limits }, grid: { maxImportW: null, maxExportW: null },
      settings: { targetEndSocPct: null, degradationCostEurPerKWh: 0, exportTieBreakEurPerKWh: 0, ...(pvPlanQuantile !== undefined && { pvPlanQuantile }) },
    }).slots.map((s) => s.pvPowerW)

  it('plans on the P50 by default, at 0.5, and without a band', () => {
    expect(pvOf(undefined, true)).toEqual(p50)
    expect(pvOf(0.5, true)).toEqual(p50)
    expect(pvOf(0.6, false)).toEqual(p50)
  })

  it('moves each slot toward its P90 above 0.5 and its P10 below, by z(q) / z(0.9) of the way, reaching the band edge at 0.9', () => {
    const share = 0.2533 / 1.2816 // z(0.6) / z(0.9)
    pvOf(0.6, true).forEach((w, i) => expect(w).toBeCloseTo(p50[i]! + share * (p90[i]! - p50[i]!), 0))
    pvOf(0.4, true).forEach((w, i) => expect(w).toBeCloseTo(p50[i]! - share * (p50[i]! - p10[i]!), 0))
    pvOf(0.9, true).forEach((w, i) => expect(w).toBeCloseTo(p90[i]!, 3))
    pvOf(0.1, true).forEach((w, i) => expect(w).toBeCloseTo(p10[i]!, 3))
  })
})
