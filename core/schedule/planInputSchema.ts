// The input of `planSchedule` and `gridmesh plan --input FILE`. The JSON Schema in
// plan-input.schema.json is generated from this file (writePlanInputSchema.ts).
import { z } from 'zod'

// Physically sane bounds (README.md "Bounds"): far beyond any microgrid, yet small enough
// that the MILP's coefficients stay within what HiGHS solves. Values past them are typos or
// attacks; they used to make HiGHS fail and the CLI print a fallback plan with exit code 0.
/** 1 GW: a large power station; no site's load, PV, battery or grid connection is bigger. */
const MAX_POWER_W = 1e9
/** 10 GWh: beyond the largest battery plants. */
const MAX_CAPACITY_WH = 1e10
/** 10,000 EUR/kWh either way: the EU day-ahead market's harmonised limits are -500 and +4,000 EUR/MWh. */
const MAX_PRICE_EUR_PER_KWH = 1e4
/** The years 2000 to 2200 in UTC ms. */
const MIN_TIME_MS = 946_684_800_000
const MAX_TIME_MS = 7_258_118_400_000

// Each bound's message says its unit; parsePlanInput appends what it got.
const powerW = () => z.number().nonnegative().max(MAX_POWER_W, 'expected a number <= 1000000000 (1 GW)')
const price = () =>
  z.number().min(-MAX_PRICE_EUR_PER_KWH, 'expected a number >= -10000 (EUR/kWh)').max(MAX_PRICE_EUR_PER_KWH, 'expected a number <= 10000 (EUR/kWh)')
const costPerKWh = () => z.number().nonnegative().max(MAX_PRICE_EUR_PER_KWH, 'expected a number <= 10000 (EUR/kWh)')
const timeMs = () => z.number().int().min(MIN_TIME_MS, 'expected a number >= 946684800000 (2000-01-01)').max(MAX_TIME_MS, 'expected a number <= 7258118400000 (2200-01-01)')
/** A per-slot value that may be missing: null or absent is a hole, filled per README's rule. */
const optionalValue = (schema: z.ZodNumber) => schema.nullable().optional()

export const PlanSlotInputSchema = z
  .object({
    loadPowerW: optionalValue(powerW()).describe('forecast base load (average over the slot), W; null = hole'),
    pvPowerW: optionalValue(powerW()).describe('forecast PV production before curtailment, W; null = hole'),
    loadP90PowerW: optionalValue(powerW()).describe(
      'P90 of the base load (10 % of outcomes above it), W; null or absent = none. In peak-price slots (the horizon\'s highest import price, above its lowest) the plan keeps SoC headroom for the load above loadPowerW',
    ),
    importPriceEurPerKWh: optionalValue(price()).describe('retail import price, EUR/kWh; null = hole'),
    exportPriceEurPerKWh: optionalValue(price()).describe('retail export (feed-in) price, EUR/kWh; null = hole'),
    marketBuyPriceEurPerKWh: optionalValue(price()).describe(
      'peer market price to buy energy in this slot; absent = no market buying (marketBuyW fixed at 0)',
    ),
    marketSellPriceEurPerKWh: optionalValue(price()).describe(
      'peer market price to sell energy in this slot; absent = no market selling (marketSellW fixed at 0)',
    ),
  })
  .strict()

export const BatteryInputSchema = z
  .object({
    capacityWh: z.number().positive().max(MAX_CAPACITY_WH, 'expected a number <= 10000000000 (10 GWh)').describe('usable energy capacity at 100 % SoC, Wh'),
    socPct: z.number().min(0).max(100).describe('state of charge at startMs, %'),
    minSocPct: z.number().min(0).max(100).default(10),
    maxSocPct: z.number().min(0).max(100).default(100),
    maxChargePowerW: powerW().describe('AC charge power limit, W'),
    maxDischargePowerW: powerW().describe('AC discharge power limit, W'),
    chargeEfficiency: z.number().gt(0).max(1).default(0.95).describe('stored Wh per AC Wh charged'),
    dischargeEfficiency: z.number().gt(0).max(1).default(0.95).describe('AC Wh delivered per stored Wh'),
    degradationCostEurPerKWh: costPerKWh()
      .default(0)
      .describe('wear cost per kWh of throughput (charged AC energy + discharged AC energy)'),
    targetEndSocPct: z.number().min(0).max(100).optional().describe('soft goal: SoC at the end of the horizon, %'),
  })
  .strict()

export const GridInputSchema = z
  .object({
    maxImportPowerW: powerW().optional().describe('import limit (fuse, contract), W; soft if physics cannot meet it'),
    maxExportPowerW: powerW().optional().describe('export limit (feed-in cap), W; soft if physics cannot meet it'),
    peakChargeEurPerKW: z.number().nonnegative().max(MAX_PRICE_EUR_PER_KWH, 'expected a number <= 10000 (EUR/kW)').default(0).describe('demand charge on the highest import in the horizon, EUR/kW'),
    billingPeakSoFarW: powerW()
      .default(0)
      .describe('highest import already reached in the billing period; only import above it is charged'),
  })
  .strict()

export const FlexibleLoadInputSchema = z
  .object({
    id: z.string().min(1).max(64),
    powerW: z.number().positive().max(MAX_POWER_W, 'expected a number <= 1000000000 (1 GW)').describe('fixed power while on, W'),
    requiredSlots: z.number().int().nonnegative().max(2016, 'expected a number <= 2016 (slots)').describe('number of slots it must run inside its window'),
    earliestStartMs: timeMs().optional().describe('window start (UTC ms), default the horizon start'),
    latestEndMs: timeMs().optional().describe('window end (UTC ms, exclusive), default the horizon end'),
  })
  .strict()

export const PenaltiesInputSchema = z
  .object({
    gridLimitEurPerKWh: costPerKWh().default(100).describe('per kWh above an import or export limit'),
    endSocShortfallEurPerKWh: costPerKWh().default(5).describe('per kWh below the end-of-horizon SoC target'),
    flexibleLoadUnmetEurPerKWh: costPerKWh().default(5).describe('per kWh of flexible-load run time not scheduled'),
  })
  .strict()

export const SolverInputSchema = z
  .object({
    timeLimitMs: z.number().int().positive().max(600_000, 'expected a number <= 600000 (10 min)').default(10_000),
    mipRelGap: z.number().min(0).max(1).default(1e-4),
    mipAbsGap: z
      .number()
      .min(0)
      .max(MAX_PRICE_EUR_PER_KWH, 'expected a number <= 10000 (EUR)')
      .default(0.01)
      .describe('absolute MIP gap in objective units (EUR for cost): a plan may cost this much more than the optimum'),
  })
  .strict()

export const PlanInputSchema = z
  .object({
    version: z.literal(1).default(1).describe('input format version'),
    startMs: timeMs().describe('start of the first slot, UTC ms'),
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
        maxBuyPowerW: powerW().optional().describe('cap on marketBuyW, W'),
        maxSellPowerW: powerW().optional().describe('cap on marketSellW, W'),
      })
      .strict()
      .prefault({}),
    penalties: PenaltiesInputSchema.prefault({}),
    solver: SolverInputSchema.prefault({}),
  })
  .strict()
  .superRefine((input, ctx) => {
    const b = input.battery
    // An empty SoC range leaves nothing to plan with; equal bounds hold the battery at that SoC.
    if (b && b.minSocPct > b.maxSocPct) {
      ctx.addIssue({ code: 'custom', path: ['battery', 'minSocPct'], message: `expected at most maxSocPct (${b.maxSocPct}), got ${b.minSocPct}` })
    }
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
