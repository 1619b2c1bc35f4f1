// The input of `planSchedule` and `gridmesh plan --input FILE`. The JSON Schema in
// plan-input.schema.json is generated from this file (writePlanInputSchema.ts).
import { z } from 'zod'

const nonNegative = () => z.number().nonnegative()
/** A per-slot value that may be missing: null or absent is a hole, filled per README's rule. */
const optionalValue = (schema: z.ZodNumber) => schema.nullable().optional()

export const PlanSlotInputSchema = z
  .object({
    loadPowerW: optionalValue(nonNegative()).describe('forecast base load (average over the slot), W; null = hole'),
    pvPowerW: optionalValue(nonNegative()).describe('forecast PV production before curtailment, W; null = hole'),
    importPriceEurPerKWh: optionalValue(z.number()).describe('retail import price, EUR/kWh; null = hole'),
    exportPriceEurPerKWh: optionalValue(z.number()).describe('retail export (feed-in) price, EUR/kWh; null = hole'),
    marketBuyPriceEurPerKWh: optionalValue(z.number()).describe(
      'peer market price to buy energy in this slot; absent = no market buying (marketBuyW fixed at 0)',
    ),
    marketSellPriceEurPerKWh: optionalValue(z.number()).describe(
      'peer market price to sell energy in this slot; absent = no market selling (marketSellW fixed at 0)',
    ),
  })
  .strict()

export const BatteryInputSchema = z
  .object({
    capacityWh: z.number().positive().describe('usable energy capacity at 100 % SoC, Wh'),
    socPct: z.number().min(0).max(100).describe('state of charge at startMs, %'),
    minSocPct: z.number().min(0).max(100).default(10),
    maxSocPct: z.number().min(0).max(100).default(100),
    maxChargePowerW: nonNegative().describe('AC charge power limit, W'),
    maxDischargePowerW: nonNegative().describe('AC discharge power limit, W'),
    chargeEfficiency: z.number().gt(0).max(1).default(0.95).describe('stored Wh per AC Wh charged'),
    dischargeEfficiency: z.number().gt(0).max(1).default(0.95).describe('AC Wh delivered per stored Wh'),
    degradationCostEurPerKWh: nonNegative()
      .default(0)
      .describe('wear cost per kWh of throughput (charged AC energy + discharged AC energy)'),
    targetEndSocPct: z.number().min(0).max(100).optional().describe('soft goal: SoC at the end of the horizon, %'),
  })
  .strict()

export const GridInputSchema = z
  .object({
    maxImportPowerW: nonNegative().optional().describe('import limit (fuse, contract), W; soft if physics cannot meet it'),
    maxExportPowerW: nonNegative().optional().describe('export limit (feed-in cap), W; soft if physics cannot meet it'),
    peakChargeEurPerKW: nonNegative().default(0).describe('demand charge on the highest import in the horizon, EUR/kW'),
    billingPeakSoFarW: nonNegative()
      .default(0)
      .describe('highest import already reached in the billing period; only import above it is charged'),
  })
  .strict()

export const FlexibleLoadInputSchema = z
  .object({
    id: z.string().min(1).max(64),
    powerW: z.number().positive().describe('fixed power while on, W'),
    requiredSlots: z.number().int().nonnegative().describe('number of slots it must run inside its window'),
    earliestStartMs: z.number().int().optional().describe('window start (UTC ms), default the horizon start'),
    latestEndMs: z.number().int().optional().describe('window end (UTC ms, exclusive), default the horizon end'),
  })
  .strict()

export const PenaltiesInputSchema = z
  .object({
    gridLimitEurPerKWh: nonNegative().default(100).describe('per kWh above an import or export limit'),
    endSocShortfallEurPerKWh: nonNegative().default(5).describe('per kWh below the end-of-horizon SoC target'),
    flexibleLoadUnmetEurPerKWh: nonNegative().default(5).describe('per kWh of flexible-load run time not scheduled'),
  })
  .strict()

export const SolverInputSchema = z
  .object({
    timeLimitMs: z.number().int().positive().default(10_000),
    mipRelGap: z.number().min(0).max(1).default(1e-4),
    mipAbsGap: z
      .number()
      .min(0)
      .default(0.01)
      .describe('absolute MIP gap in objective units (EUR for cost): a plan may cost this much more than the optimum'),
  })
  .strict()

export const PlanInputSchema = z
  .object({
    version: z.literal(1).default(1).describe('input format version'),
    startMs: z.number().int().describe('start of the first slot, UTC ms'),
    slotDurationMs: z
      .number()
      .int()
      .min(60_000)
      .max(3_600_000)
      .default(900_000)
      .describe('slot length, ms (default 15 min)'),
    objective: z.enum(['cost', 'self-consumption', 'peak-shaving']).default('cost'),
    allowPvCurtailment: z.boolean().default(true),
    slots: z.array(PlanSlotInputSchema).min(1).max(2016).describe('one entry per slot, in time order'),
    battery: BatteryInputSchema.optional(),
    grid: GridInputSchema.prefault({}),
    flexibleLoads: z.array(FlexibleLoadInputSchema).max(32).default([]),
    market: z
      .object({
        maxBuyPowerW: nonNegative().optional().describe('cap on marketBuyW, W'),
        maxSellPowerW: nonNegative().optional().describe('cap on marketSellW, W'),
      })
      .strict()
      .prefault({}),
    penalties: PenaltiesInputSchema.prefault({}),
    solver: SolverInputSchema.prefault({}),
  })
  .strict()
  .superRefine((input, ctx) => {
    const ids = new Set<string>()
    input.flexibleLoads.forEach((load, index) => {
      if (ids.has(load.id)) {
        ctx.addIssue({ code: 'custom', path: ['flexibleLoads', index, 'id'], message: `duplicate id '${load.id}'` })
      }
      ids.add(load.id)
    })
  })

/** What callers write (defaults optional). */
export type PlanInputParameters = z.input<typeof PlanInputSchema>
/** The validated input with defaults applied. */
export type PlanInput = z.output<typeof PlanInputSchema>
