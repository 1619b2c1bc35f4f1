import { beforeAll, describe, expect, it } from 'vitest'
import type { PlanInputParameters } from './planInputSchema.ts'
import { planSchedule, type Plan } from './planSchedule.ts'
import { shouldReplan } from './shouldReplan.ts'

const SLOT_MS = 900_000
const START_MS = Date.UTC(2026, 3, 1)

const input: PlanInputParameters = {
  startMs: START_MS,
  slotDurationMs: SLOT_MS,
  slots: Array.from({ length: 8 }, (_, t) => ({
    loadPowerW: 1000,
    pvPowerW: t < 4 ? 3000 : 0,
    importPriceEurPerKWh: t < 4 ? 0.1 : 0.4,
    exportPriceEurPerKWh: 0.05,
  })),
  battery: { capacityWh: 10_000, socPct: 50, maxChargePowerW: 3000, maxDischargePowerW: 3000 },
}

let plan: Plan
beforeAll(async () => {
  plan = await planSchedule(input)
})

const halfwayThroughFirstSlot = () => {
  const socPct = (plan.initialSocPct! + plan.slots[0]!.socPct!) / 2
  return { ...input, startMs: START_MS + SLOT_MS / 2, battery: { ...input.battery!, socPct } }
}

describe('shouldReplan', () => {
  it('keeps the plan while nothing changed materially within the slot', () => {
    expect(shouldReplan({ input, plan }, halfwayThroughFirstSlot())).toEqual({ replan: false, reasons: [] })
  })

  it('re-plans at every new slot', () => {
    const next = { ...input, startMs: START_MS + SLOT_MS }
    const decision = shouldReplan({ input, plan }, next)
    expect(decision.replan).toBe(true)
    expect(decision.reasons).toEqual(['a new slot started (re-plan every slot)'])
  })

  it('re-plans when the measured SoC leaves the predicted trajectory', () => {
    const current = halfwayThroughFirstSlot()
    current.battery.socPct += 5
    const decision = shouldReplan({ input, plan }, current)
    expect(decision.replan).toBe(true)
    expect(decision.reasons[0]).toMatch(/battery SoC .* 5\.0 points from the planned/)
    current.battery.socPct -= 4
    expect(shouldReplan({ input, plan }, current).replan).toBe(false)
  })

  it('re-plans on a material forecast change and ignores a small one', () => {
    const current = halfwayThroughFirstSlot()
    const small = { ...current, slots: current.slots.map((slot, t) => (t === 5 ? { ...slot, loadPowerW: 1300 } : slot)) }
    expect(shouldReplan({ input, plan }, small).replan).toBe(false)
    const big = { ...current, slots: current.slots.map((slot, t) => (t === 5 ? { ...slot, pvPowerW: 2000 } : slot)) }
    expect(shouldReplan({ input, plan }, big).reasons).toEqual([expect.stringMatching(/PV forecast moved by 2000 W in slot 5/)])
  })

  it('re-plans when a price moves by more than the threshold, or a market price appears', () => {
    const current = halfwayThroughFirstSlot()
    const cent = { ...current, slots: current.slots.map((slot, t) => (t === 6 ? { ...slot, importPriceEurPerKWh: 0.405 } : slot)) }
    expect(shouldReplan({ input, plan }, cent).replan).toBe(false)
    const moved = { ...current, slots: current.slots.map((slot, t) => (t === 6 ? { ...slot, importPriceEurPerKWh: 0.3 } : slot)) }
    expect(shouldReplan({ input, plan }, moved).reasons).toEqual(['import price changed in slot 6'])
    const market = { ...current, slots: current.slots.map((slot, t) => (t === 2 ? { ...slot, marketSellPriceEurPerKWh: 0.2 } : slot)) }
    expect(shouldReplan({ input, plan }, market).reasons).toEqual(['market sell price changed in slot 2'])
  })

  it('re-plans when limits or settings change, or the previous plan was not optimal', () => {
    const current = halfwayThroughFirstSlot()
    expect(shouldReplan({ input, plan }, { ...current, grid: { maxImportPowerW: 2000 } }).reasons).toEqual(['grid changed'])
    expect(shouldReplan({ input, plan }, { ...current, battery: { ...current.battery, maxChargePowerW: 1000 } }).reasons).toEqual([
      'battery settings changed',
    ])
    expect(shouldReplan({ input, plan: { ...plan, status: 'fallback' } }, current).reasons).toEqual([
      'the previous plan is fallback, not optimal',
    ])
  })

  it('honours custom thresholds', () => {
    const current = halfwayThroughFirstSlot()
    const small = { ...current, slots: current.slots.map((slot, t) => (t === 5 ? { ...slot, loadPowerW: 1300 } : slot)) }
    expect(shouldReplan({ input, plan }, small, { forecastPowerW: 100 }).replan).toBe(true)
  })
})
