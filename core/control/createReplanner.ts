import type { PlanInputParameters } from '../schedule/planInputSchema.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import { shouldReplan } from '../schedule/shouldReplan.ts'

/**
 * When a site re-plans.
 * - `serve`: every new slot, and inside a slot when the measured SoC strays materially from
 *   the plan (shouldReplan, checked every `checkEveryMs`, default once a minute: forecasts
 *   only change with finished slots and prices with the tariff, so only the battery can move).
 * - `once`: one plan (perfect foresight over a whole period).
 * - `manual`: only when asked (`request`), as the market demo does each interval.
 * No plan is made before `fromMs` (a backtest's warm-up runs self-consumption).
 */
export type PlanPolicy = { kind: 'serve'; fromMs?: number; checkEveryMs?: number } | { kind: 'once'; fromMs?: number } | { kind: 'manual' }

export type Replanner = ReturnType<typeof createReplanner>

export type ReplannerOptions = {
  policy: PlanPolicy
  slotMs: number
  /** Makes the plan input now (forecasts included); null when the site cannot be planned (no battery, no SoC). */
  makeInput: (timeMs: number, slotStartMs: number, socPct: number) => PlanInputParameters | null | Promise<PlanInputParameters | null>
  solve: (input: PlanInputParameters, nowMs: number) => Promise<Plan>
  onPlan: (plan: Plan, input: PlanInputParameters) => void
  /** A forecast or solve failed (alarm it); the replanner tries again after `retryAfterMs`. */
  onFailure?: (message: string, timeMs: number) => void
  /** The first plan after failures landed. */
  onRecovered?: (timeMs: number) => void
  /** Default 60 s: a failing forecast or solver is not hammered every cycle, and a passing fault costs a minute, not a slot. */
  retryAfterMs?: number
  initialPlan?: Plan | null
  /**
   * Whether the market takes this site's orders now (a trading site that joined). A plan made
   * while it did not trades nothing, and the site's orders come from the plan: such a plan is
   * remade as soon as the market opens (serve's policy), not at the next slot.
   */
  marketOpen?: (timeMs: number) => boolean
  log: (message: string) => void
}

/**
 * Plans beside the control cycle: a trigger starts a solve and returns at once; the loop
 * reads `current()` every cycle and follows the plan in force until the new one lands, so
 * a cycle never waits for the MILP. One solve at a time; a trigger during a solve is looked
 * at again on the next cycle.
 */
export function createReplanner(options: ReplannerOptions) {
  const { policy, slotMs, log } = options
  let plan: Plan | null = options.initialPlan ?? null
  let planned: { input: PlanInputParameters; plan: Plan } | null = null
  let lastPlannedSlot: number | null = null
  let lastCheckMs = Number.NEGATIVE_INFINITY
  let solving: Promise<Plan | null> | null = null
  let planCount = 0
  let failedAtMs: number | null = null
  /** Whether the market was open when the plan in force was made. */
  let plannedWithMarket = false

  function run(timeMs: number, slotStartMs: number, socPct: number, why: string): Promise<Plan | null> {
    lastPlannedSlot = slotStartMs
    if (why !== 'new slot' && why !== 'first plan' && why !== 'asked') log(`re-planning: ${why}`)
    const solve = (async () => {
      const withMarket = options.marketOpen?.(timeMs) ?? false
      const input = await options.makeInput(timeMs, slotStartMs, socPct)
      if (!input) return null
      const next = await options.solve(input, timeMs)
      plan = next
      planned = { input, plan: next }
      plannedWithMarket = withMarket
      planCount++
      options.onPlan(next, input)
      if (failedAtMs !== null) {
        failedAtMs = null
        options.onRecovered?.(timeMs)
      }
      return next
    })()
    const settled = solve.catch((error: unknown) => {
      const message = (error as Error).message
      if (failedAtMs === null) log(`planning failed: ${message}; the loop follows the last plan while it is current, else self-consumption`)
      failedAtMs = timeMs
      options.onFailure?.(message, timeMs)
      return null
    })
    solving = settled.finally(() => {
      if (solving === tracked) solving = null
    })
    const tracked = solving
    return settled
  }

  return {
    current: () => plan,
    /** How many plans were made. */
    count: () => planCount,
    /** Resolves when no solve is running (a stepped clock waits for it before it moves on). */
    async idle(): Promise<void> {
      while (solving) await solving
    },
    /** Looks at one cycle's time and SoC and starts a solve when the policy says so; never waits for it. */
    consider(timeMs: number, socPct: number | null): void {
      if (solving || socPct === null || policy.kind === 'manual') return
      if (policy.fromMs !== undefined && timeMs < policy.fromMs) return
      const slotStartMs = Math.floor(timeMs / slotMs) * slotMs
      if (policy.kind === 'once') {
        if (lastPlannedSlot === null) void run(timeMs, slotStartMs, socPct, 'first plan')
        return
      }
      let why: string | null = slotStartMs !== lastPlannedSlot ? 'new slot' : null
      if (!why && failedAtMs !== null && timeMs - failedAtMs >= (options.retryAfterMs ?? 60_000)) why = 'the last plan failed'
      if (!why && planned && timeMs - lastCheckMs >= (policy.checkEveryMs ?? 60_000)) {
        lastCheckMs = timeMs
        const decision = shouldReplan(planned, { ...planned.input, startMs: timeMs, battery: { ...planned.input.battery!, socPct } })
        if (decision.replan) why = decision.reasons.join('; ')
      }
      if (!why && planned && !plannedWithMarket && failedAtMs === null && options.marketOpen?.(timeMs)) why = 'the market opened to this site: plan its orders now, not at the next slot'
      if (why) void run(timeMs, slotStartMs, socPct, why)
    },
    /** A plan from `timeMs` on, whatever the policy (the market demo asks at each interval's start); waits for a solve already running first. */
    async request(timeMs: number, socPct: number): Promise<Plan | null> {
      while (solving) await solving
      return run(timeMs, timeMs, socPct, 'asked')
    },
  }
}
