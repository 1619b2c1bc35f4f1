import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { PlanInputParameters } from './planInputSchema.ts'
import { PlanSchema } from './planSchema.ts'
import { planSchedule } from './planSchedule.ts'

const START_MS = Date.UTC(2026, 9, 25) // a DST day in Europe; slots are UTC anyway
const TOLERANCE_W = 0.01
const TOLERANCE_PCT = 1e-4

const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 4 })
const hole = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary }, { weight: 1, arbitrary: fc.constant(null) })
const watts = (max: number) => fc.integer({ min: 0, max })
const price = (min: number, max: number) => fc.integer({ min: min * 1000, max: max * 1000 }).map((p) => p / 1000)

const slotArbitrary = fc.record(
  {
    loadPowerW: hole(watts(10_000)),
    pvPowerW: hole(watts(8000)),
    importPriceEurPerKWh: hole(price(-0.3, 0.8)),
    exportPriceEurPerKWh: hole(price(-0.2, 0.5)),
    marketBuyPriceEurPerKWh: maybe(price(0, 0.6)),
    marketSellPriceEurPerKWh: maybe(price(0, 0.6)),
  },
  { requiredKeys: [] },
)

const inputArbitrary = fc
  .record({
    slotCount: fc.integer({ min: 1, max: 12 }),
    slotDurationMs: fc.constantFrom(900_000, 1_800_000, 3_600_000),
    objective: fc.constantFrom('cost', 'self-consumption', 'peak-shaving'),
    allowPvCurtailment: fc.boolean(),
    battery: maybe(
      fc.record({
        capacityWh: fc.integer({ min: 500, max: 20_000 }),
        socPct: fc.integer({ min: 0, max: 100 }),
        minSocPct: fc.integer({ min: 0, max: 100 }),
        maxSocPct: fc.integer({ min: 0, max: 100 }),
        maxChargePowerW: watts(6000),
        maxDischargePowerW: watts(6000),
        chargeEfficiency: fc.integer({ min: 50, max: 100 }).map((e) => e / 100),
        dischargeEfficiency: fc.integer({ min: 50, max: 100 }).map((e) => e / 100),
        degradationCostEurPerKWh: price(0, 0.1),
        targetEndSocPct: maybe(fc.integer({ min: 0, max: 100 })),
      }),
      // minSocPct > maxSocPct is refused by the schema (parsePlanInput.test.ts), so never generated.
    ).map((b) => (b && b.minSocPct > b.maxSocPct ? { ...b, minSocPct: b.maxSocPct, maxSocPct: b.minSocPct } : b)),
    grid: fc.record({
      maxImportPowerW: maybe(watts(12_000)),
      maxExportPowerW: maybe(watts(8000)),
      peakChargeEurPerKW: price(0, 20),
    }),
    market: fc.record({ maxBuyPowerW: maybe(watts(5000)), maxSellPowerW: maybe(watts(5000)) }),
    flexibleLoadCount: fc.integer({ min: 0, max: 2 }),
    flexible: fc.array(
      fc.record({
        powerW: fc.integer({ min: 100, max: 7000 }),
        requiredSlots: fc.integer({ min: 0, max: 14 }),
        startSlot: fc.integer({ min: -2, max: 12 }),
        lengthSlots: fc.integer({ min: 0, max: 14 }),
      }),
      { minLength: 2, maxLength: 2 },
    ),
    slots: fc.array(slotArbitrary, { minLength: 12, maxLength: 12 }),
  })
  .map((r): PlanInputParameters => ({
    startMs: START_MS,
    slotDurationMs: r.slotDurationMs,
    objective: r.objective,
    allowPvCurtailment: r.allowPvCurtailment,
    slots: r.slots.slice(0, r.slotCount),
    battery: r.battery,
    grid: r.grid,
    market: r.market,
    flexibleLoads: r.flexible.slice(0, r.flexibleLoadCount).map((f, i) => ({
      id: `load-${i}`,
      powerW: f.powerW,
      requiredSlots: f.requiredSlots,
      earliestStartMs: START_MS + f.startSlot * r.slotDurationMs,
      latestEndMs: START_MS + (f.startSlot + f.lengthSlots) * r.slotDurationMs,
    })),
  }))

describe('planSchedule (property): any input, even impossible, gives a plan within the hard limits', () => {
  it('respects battery, PV and market limits, keeps the SoC consistent, and reports every soft limit it breaks', async () => {
    // The generator must reach the interesting corners, or the property proves little.
    const seen = { unmetGoal: 0, batteryMoved: 0, curtailed: 0, flexibleOn: 0 }
    await fc.assert(
      fc.asyncProperty(inputArbitrary, async (input) => {
        const plan = await planSchedule(input)
        expect(PlanSchema.safeParse(plan).error).toBeUndefined()
        if (plan.unmetGoals.length > 0) seen.unmetGoal++
        if (plan.slots.some((slot) => slot.batteryPowerW !== 0)) seen.batteryMoved++
        if (plan.slots.some((slot) => slot.pvCurtailedW > 1)) seen.curtailed++
        if (plan.slots.some((slot) => slot.flexibleLoads.some((load) => load.on))) seen.flexibleOn++
        const slotHours = input.slotDurationMs! / 3_600_000
        expect(plan.status).not.toBe('fallback')
        expect(plan.slots).toHaveLength(input.slots.length)
        const goals = (goal: string) => plan.unmetGoals.filter((g) => g.goal === goal)

        const b = input.battery
        const batteryUsable = b !== undefined && b.minSocPct! <= b.maxSocPct!
        let socPct = b?.socPct ?? 0
        plan.slots.forEach((slot, t) => {
          const given = input.slots[t]!
          expect(slot.startMs).toBe(START_MS + t * input.slotDurationMs!)

          // Battery: power limits, SoC inside the range (or not further out than it started), consistent with the power.
          if (!b) {
            expect(slot.batteryPowerW).toBe(0)
            expect(slot.socPct).toBeNull()
          } else {
            const maxCharge = batteryUsable ? b.maxChargePowerW : 0
            const maxDischarge = batteryUsable ? b.maxDischargePowerW : 0
            expect(slot.batteryPowerW).toBeGreaterThanOrEqual(-maxCharge - TOLERANCE_W)
            expect(slot.batteryPowerW).toBeLessThanOrEqual(maxDischarge + TOLERANCE_W)
            const kW = slot.batteryPowerW / 1000
            const storedKWh = kW < 0 ? -kW * b.chargeEfficiency! : -kW / b.dischargeEfficiency!
            socPct += (storedKWh * slotHours * 100 * 1000) / b.capacityWh
            expect(slot.socPct).toBeCloseTo(socPct, 3)
            socPct = slot.socPct!
            const low = batteryUsable ? Math.min(b.minSocPct!, b.socPct) : b.socPct
            const high = batteryUsable ? Math.max(b.maxSocPct!, b.socPct) : b.socPct
            expect(slot.socPct!).toBeGreaterThanOrEqual(low - TOLERANCE_PCT)
            expect(slot.socPct!).toBeLessThanOrEqual(high + TOLERANCE_PCT)
          }

          // PV: never more than forecast, curtailment only when allowed.
          expect(slot.pvPowerW).toBeGreaterThanOrEqual(0)
          expect(slot.pvCurtailedW).toBeGreaterThanOrEqual(-TOLERANCE_W)
          if (typeof given.pvPowerW === 'number') expect(slot.pvPowerW + slot.pvCurtailedW).toBeCloseTo(given.pvPowerW, 2)
          if (!input.allowPvCurtailment) expect(slot.pvCurtailedW).toBeCloseTo(0, 2)
          if (typeof given.loadPowerW === 'number') expect(slot.loadPowerW).toBe(given.loadPowerW)

          // Balance: load + flexible = PV + battery + grid.
          const flexibleW = slot.flexibleLoads.reduce((sum, load) => sum + load.powerW, 0)
          expect(slot.loadPowerW + flexibleW).toBeCloseTo(slot.pvPowerW + slot.batteryPowerW + slot.gridPowerW, 1)

          // Market: only where priced, within caps, never buying and selling (or importing and exporting) at once.
          if (given.marketBuyPriceEurPerKWh === undefined) expect(slot.marketBuyW).toBe(0)
          if (given.marketSellPriceEurPerKWh === undefined) expect(slot.marketSellW).toBe(0)
          expect(slot.marketBuyW).toBeLessThanOrEqual((input.market?.maxBuyPowerW ?? Infinity) + TOLERANCE_W)
          expect(slot.marketSellW).toBeLessThanOrEqual((input.market?.maxSellPowerW ?? Infinity) + TOLERANCE_W)
          if (slot.marketBuyW > TOLERANCE_W) {
            expect(slot.marketSellW).toBe(0)
            expect(slot.gridPowerW).toBeGreaterThanOrEqual(slot.marketBuyW - TOLERANCE_W)
          }
          if (slot.marketSellW > TOLERANCE_W) expect(slot.gridPowerW).toBeLessThanOrEqual(-slot.marketSellW + TOLERANCE_W)

          // Grid limits are soft: every breach is reported with its slot.
          const { maxImportPowerW, maxExportPowerW } = input.grid ?? {}
          if (maxImportPowerW !== undefined && slot.gridPowerW > maxImportPowerW + 1) {
            expect(goals('grid-import-limit')[0]?.slotIndexes).toContain(t)
          }
          if (maxExportPowerW !== undefined && -slot.gridPowerW > maxExportPowerW + 1) {
            expect(goals('grid-export-limit')[0]?.slotIndexes).toContain(t)
          }
        })

        // Flexible loads: only inside the window, the declared power, the run time or a reported reason.
        input.flexibleLoads!.forEach((load, f) => {
          const on = plan.slots.filter((slot, t) => {
            const entry = slot.flexibleLoads[f]!
            expect(entry.id).toBe(load.id)
            if (!entry.on) return false
            expect(entry.powerW).toBe(load.powerW)
            const startMs = START_MS + t * input.slotDurationMs!
            expect(startMs).toBeGreaterThanOrEqual(load.earliestStartMs!)
            expect(startMs + input.slotDurationMs!).toBeLessThanOrEqual(load.latestEndMs!)
            return true
          }).length
          if (on !== load.requiredSlots) {
            expect(goals('flexible-load-run-time').map((g) => g.id)).toContain(load.id)
          }
        })

        // End SoC target: met or reported.
        if (batteryUsable && b.targetEndSocPct !== undefined) {
          const target = Math.min(Math.max(b.targetEndSocPct, b.minSocPct!), b.maxSocPct!)
          if (plan.slots.at(-1)!.socPct! < target - 0.01) expect(goals('end-soc-target')).toHaveLength(1)
        }
      }),
      { numRuns: 30 },
    )
    expect(Object.values(seen).every((count) => count > 0)).toBe(true)
  })
})
