// The plan document as data, for the API contract and for consumers that read a plan
// from a file or the store. planSchedule's output type `Plan` is checked against it.
import { z } from 'zod'

const warning = z.object({ code: z.string(), message: z.string() })

export const PlanSchema = z.object({
  version: z.literal(1),
  createdAtMs: z.number().int(),
  startMs: z.number().int(),
  slotDurationMs: z.number().int().positive(),
  objective: z.enum(['cost', 'self-consumption', 'peak-shaving']),
  objectiveValue: z.number().nullable(),
  expectedCostEur: z.number(),
  costBreakdownEur: z.object({ energy: z.number(), market: z.number(), peak: z.number(), degradation: z.number() }),
  referenceCostsEur: z.object({ noBatteryEur: z.number(), selfConsumptionEur: z.number().nullable(), selfConsumptionEndSocPct: z.number().nullable() }).optional(),
  status: z.enum(['optimal', 'feasible', 'fallback']),
  initialSocPct: z.number().nullable(),
  unmetGoals: z.array(
    z.object({
      goal: z.enum(['end-soc-target', 'grid-import-limit', 'grid-export-limit', 'flexible-load-run-time', 'solver']),
      message: z.string(),
      id: z.string().optional(),
      slotIndexes: z.array(z.number().int().nonnegative()).optional(),
    }),
  ),
  warnings: z.array(warning),
  solveStats: z.object({
    solveTimeMs: z.number().nonnegative(),
    rounds: z.number().int().positive(),
    integerVariables: z.number().int().nonnegative(),
    columns: z.number().int().nonnegative(),
    rows: z.number().int().nonnegative(),
  }),
  slots: z.array(
    z.object({
      startMs: z.number().int(),
      batteryPowerW: z.number(),
      gridPowerW: z.number(),
      pvPowerW: z.number().nonnegative(),
      pvCurtailedW: z.number().nonnegative(),
      loadPowerW: z.number().nonnegative(),
      socPct: z.number().nullable(),
      flexibleLoads: z.array(z.object({ id: z.string(), on: z.boolean(), powerW: z.number().nonnegative() })),
      marketBuyW: z.number().nonnegative(),
      marketSellW: z.number().nonnegative(),
      importPriceEurPerKWh: z.number(),
      exportPriceEurPerKWh: z.number(),
      reasons: z.array(z.string()).optional(),
    }),
  ),
})
