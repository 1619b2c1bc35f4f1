// Plan inputs the schema accepts, at its bounds (1 GW, ±1e4 EUR/kWh, 10 GWh, subnormal
// numbers), solved for real: planSchedule must return within its time limit with a plan
// of its own making (not the fallback). Shared by test/fuzz/planSolve.fuzz.test.ts and
// bench/fuzz.bench.ts. It found the round loop that never ended at 1 GW.
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { PlanInputError } from '../../core/schedule/PlanInputError.ts'
import { parsePlanInput } from '../../core/schedule/parsePlanInput.ts'
import type { PlanInputParameters } from '../../core/schedule/planInputSchema.ts'
import { planSchedule } from '../../core/schedule/planSchedule.ts'

const power = fc.oneof(fc.constantFrom(0, 1e-300, 5e-324, 1e-9, 1, 1e9, 999_999_999.5), fc.double({ min: 0, max: 1e9, noNaN: true }))
const price = fc.oneof(fc.constantFrom(0, -1e4, 1e4, 1e-300, -1e-300), fc.double({ min: -1e4, max: 1e4, noNaN: true }))
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined })
const slot = fc.record({ loadPowerW: power, pvPowerW: power, importPriceEurPerKWh: price, exportPriceEurPerKWh: price, marketBuyPriceEurPerKWh: maybe(price), marketSellPriceEurPerKWh: maybe(price) })

/** Inputs within every bound of planInputSchema.ts, extremes favoured. */
export const planSolveInput: fc.Arbitrary<PlanInputParameters> = fc.record({
  startMs: fc.constant(1_767_225_600_000),
  slotDurationMs: fc.constantFrom(900_000, 3_600_000),
  objective: fc.constantFrom('cost' as const, 'self-consumption' as const, 'peak-shaving' as const),
  slots: fc.array(slot, { minLength: 1, maxLength: 12 }),
  battery: maybe(
    fc.record({
      capacityWh: fc.oneof(fc.constantFrom(1e-300, 1e-6, 1e10), fc.double({ min: 1, max: 1e10, noNaN: true })),
      socPct: fc.double({ min: 0, max: 100, noNaN: true }),
      maxChargePowerW: power,
      maxDischargePowerW: power,
      degradationCostEurPerKWh: fc.constantFrom(0, 1e4, 1e-300),
      targetEndSocPct: maybe(fc.double({ min: 0, max: 100, noNaN: true })),
    }),
  ),
  grid: fc.record({ maxImportPowerW: maybe(power), maxExportPowerW: maybe(power), peakChargeEurPerKW: fc.constantFrom(0, 1e4, 1e-300), billingPeakSoFarW: power }),
  flexibleLoads: fc.array(fc.record({ powerW: fc.double({ min: 1e-300, max: 1e9, noNaN: true }), requiredSlots: fc.integer({ min: 0, max: 20 }) }), { maxLength: 2 }).map((loads) => loads.map((load, i) => ({ id: `f${i}`, ...load }))),
  solver: fc.constant({ timeLimitMs: 2_000 }),
})

/** Solves one input the schema accepts; throws when planSchedule fails or falls back. */
export async function checkPlanSolve(input: PlanInputParameters): Promise<void> {
  let parsed
  try {
    parsed = parsePlanInput(input)
  } catch (error) {
    if (error instanceof PlanInputError) return
    throw error
  }
  const plan = await planSchedule(parsed)
  assert.notEqual(plan.status, 'fallback', `the solver failed on an accepted input: ${plan.unmetGoals.map((g) => g.message).join('; ')}`)
  assert.equal(plan.slots.length, parsed.slots.length)
  assert.ok(plan.slots.every((s) => Number.isFinite(s.batteryPowerW) && Number.isFinite(s.gridPowerW)), 'a plan with a non-finite power')
}
