// The pure decision of one control cycle. Controllers run in priority order and each
// may only narrow what the ones before it allowed: safety builds the envelope (power
// ratings, SoC limits, ramp rate, then grid limits as far as physics allows), the plan
// picks a target inside it, market commitments shift the target inside it. The final
// setpoint is clamped to the envelope, so no later controller can leave it.
// PV limits come last, from the battery setpoints just decided: batteries absorb surplus
// first, and PV is curtailed only for what they cannot take (safety: the export limit),
// or where the plan curtails (plan); the lower of the two wins.

export type BatterySnapshot = {
  name: string
  /** Measured AC power, > 0 discharge; null when the device is stale. */
  powerW: number | null
  socPct: number | null
  stale: boolean
  /** Stale because its readings are not trusted (frozen), though it answers: held at 0 W. */
  untrusted?: string | null
}

export type PvSnapshot = {
  name: string
  /** Measured AC power; null when the device is stale. */
  powerW: number | null
  /** The output cap in force as the inverter reports it (% of its rating), or null: none. */
  limitPct: number | null
  /** What it could produce without its cap (SunSpec 122 WAval), where it says so; else null. */
  availableW: number | null
  stale: boolean
}

export type Snapshot = {
  timeMs: number
  /** Grid power at the connection point, > 0 import; null when the meter is stale. */
  gridW: number | null
  pvW: number | null
  batteries: BatterySnapshot[]
  /** PV inverters the loop may cap; absent: none. */
  pvInverters?: PvSnapshot[]
}

export type BatteryLimits = {
  maxChargeW: number
  maxDischargeW: number
  socMinPct: number
  socMaxPct: number
  /** Largest change of setpoint per second (W/s); Infinity for none. */
  rampWPerS: number
}

export type SiteLimits = { maxImportW: number | null; maxExportW: number | null }

/**
 * What the plan wants now (its current slot), or null: no plan, or a stale one. When the
 * plan expects no grid exchange in the slot (|gridPowerW| <= gridTrackingW) the battery
 * tracks that grid target, absorbing the forecast's error, instead of its planned power.
 */
export type PlanTarget = {
  batteryPowerW: number
  gridPowerW?: number
  slotStartMs: number
  /** The slot's planned PV output after curtailment, and the curtailment (both site totals). */
  pvPowerW?: number
  pvCurtailedW?: number
  exportPriceEurPerKWh?: number
} | null

/** Planned grid exchange this small means "self-consume in this slot". */
export const gridTrackingW = 50

/** Energy sold (> 0) or bought (< 0) for this interval that the battery must deliver, in W. */
/** What a cleared market interval commits the site to now: its net sale as power (< 0 bought), and what of it the plan in force does not carry. */
export type MarketCommitment = { extraExportW: number; committedW?: number } | null

export type BatteryDecision = {
  name: string
  /** The setpoint to write, or null: do not command (stale device, it falls back on its own). */
  setpointW: number | null
  envelope: { minW: number; maxW: number }
  mode: 'plan' | 'self-consumption' | 'hold' | 'not-commanded'
  /** Why the envelope is narrower than the ratings, or why the mode was chosen. */
  reasons: string[]
}

/** A PV inverter's rating, the ceiling of any limit; null: unknown, so it cannot be capped. */
export type PvLimits = { ratedW: number | null }

export type PvLimitDecision = {
  name: string
  /** The output cap to write in W, or null: none (released; or, when not commanded, left alone). */
  limitW: number | null
  ratedW: number | null
  mode: 'export-limit' | 'plan' | 'released' | 'not-commanded'
  reasons: string[]
}

export type SetpointDecisions = { batteries: BatteryDecision[]; pvInverters: PvLimitDecision[] }

/** Planned curtailment below this is rounding, not a reason to cap PV. */
export const planCurtailmentMinW = 1

export type DecideParameters = {
  snapshot: Snapshot
  limits: Record<string, BatteryLimits>
  site: SiteLimits
  plan: PlanTarget
  market: MarketCommitment
  /** The setpoints written last cycle (ramp reference). */
  previousW: Record<string, number | undefined>
  /** Seconds since the last cycle (ramp budget). */
  dtS: number
  /** Ratings of the inverters in snapshot.pvInverters. */
  pvLimits?: Record<string, PvLimits>
  /** The PV caps the loop wrote and still holds (W), or null/absent: none of ours in force. */
  previousPvLimitW?: Record<string, number | null | undefined>
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

/** One cycle's decision: a setpoint per battery, then a PV cap per inverter. Pure; time is in the snapshot. */
export function decideSetpoints(parameters: DecideParameters): SetpointDecisions {
  const { snapshot, previousPvLimitW = {} } = parameters
  const pvs = snapshot.pvInverters ?? []
  // PV we hold back ourselves and could let through: batteries may absorb it before we curtail.
  // Counted only under a cap the loop wrote (not an installer's), and only where the inverter says what it could do.
  const heldBackW = pvs.reduce((sum, pv) => {
    if (pv.stale || pv.powerW === null || pv.availableW === null || typeof previousPvLimitW[pv.name] !== 'number') return sum
    return sum + Math.max(0, pv.availableW - pv.powerW)
  }, 0)
  const batteries = decideBatteries(parameters, heldBackW)
  return { batteries, pvInverters: decidePvLimits(parameters, batteries) }
}

function decideBatteries({ snapshot, limits, site, plan, market, previousW, dtS }: DecideParameters, heldBackW: number): BatteryDecision[] {
  const live = snapshot.batteries.filter((b) => !b.stale && b.powerW !== null)
  const measuredBatteryW = live.reduce((s, b) => s + (b.powerW ?? 0), 0)
  // load - pv: what the site needs from battery + grid right now.
  const netLoadW = snapshot.gridW === null ? null : snapshot.gridW + measuredBatteryW
  // The same with the PV we curtail let through: what the batteries should absorb.
  const surplusNetLoadW = netLoadW === null ? null : netLoadW - heldBackW
  const share = 1 / Math.max(1, live.length)
  return snapshot.batteries.map((battery): BatteryDecision => {
    // Reachable but its readings frozen: never charge or discharge on them, and do not leave
    // its last setpoint running until the device's own timeout either: command 0 W.
    if (battery.stale && battery.untrusted) {
      return { name: battery.name, setpointW: 0, envelope: { minW: 0, maxW: 0 }, mode: 'hold', reasons: [`readings not trusted (${battery.untrusted}): held at 0 W`] }
    }
    if (battery.stale || battery.powerW === null) {
      return { name: battery.name, setpointW: null, envelope: { minW: 0, maxW: 0 }, mode: 'not-commanded', reasons: ['stale: not heard from within its timeout; left to its own fallback'] }
    }
    const limit = limits[battery.name]
    if (!limit) throw new RangeError(`no limits for battery '${battery.name}'`)
    const reasons: string[] = []
    // 1. Power ratings.
    let lo = -limit.maxChargeW
    let hi = limit.maxDischargeW
    // 2. Ramp rate around the last setpoint (or the measured power on the first cycle).
    const reference = previousW[battery.name] ?? battery.powerW
    if (Number.isFinite(limit.rampWPerS)) {
      const step = limit.rampWPerS * Math.max(0, dtS)
      if (reference - step > lo) {
        lo = reference - step
        reasons.push(`ramp: >= ${Math.round(lo)} W`)
      }
      if (reference + step < hi) {
        hi = reference + step
        reasons.push(`ramp: <= ${Math.round(hi)} W`)
      }
      // A ramp window outside the ratings (ratings changed) collapses onto them.
      if (lo > limit.maxDischargeW) lo = hi = limit.maxDischargeW
      if (hi < -limit.maxChargeW) lo = hi = -limit.maxChargeW
    }
    // 3. SoC limits: never discharge at or below the minimum, never charge at or above the maximum.
    if (battery.socPct === null) {
      lo = Math.max(lo, 0)
      hi = Math.min(hi, 0)
      reasons.push('SoC unknown: hold at 0 W')
    } else {
      if (battery.socPct <= limit.socMinPct) {
        hi = Math.min(hi, 0)
        reasons.push(`SoC ${battery.socPct} % <= min ${limit.socMinPct} %: no discharge`)
      }
      if (battery.socPct >= limit.socMaxPct) {
        lo = Math.max(lo, 0)
        reasons.push(`SoC ${battery.socPct} % >= max ${limit.socMaxPct} %: no charge`)
      }
    }
    // SoC beat the ramp: 0 W is the SoC-safe point nearest any ramp window that excludes it.
    if (lo > hi) lo = hi = 0
    // 4. Grid limits, as far as the envelope allows: grid = netLoad - battery.
    if (netLoadW !== null && surplusNetLoadW !== null) {
      const mine = netLoadW * share
      const mineSurplus = surplusNetLoadW * share
      if (site.maxImportW !== null && mine - site.maxImportW * share > lo) {
        const need = Math.min(hi, mine - site.maxImportW * share)
        if (need > lo) {
          lo = need
          reasons.push(`import limit: >= ${Math.round(lo)} W`)
        }
      }
      if (site.maxExportW !== null && mineSurplus + site.maxExportW * share < hi) {
        const need = Math.max(lo, mineSurplus + site.maxExportW * share)
        if (need < hi) {
          hi = need
          reasons.push(`export limit: <= ${Math.round(hi)} W`)
        }
      }
    }
    // 5. The plan's target, or self-consumption (grid to zero) without a plan.
    let target: number
    let mode: BatteryDecision['mode']
    if (plan) {
      const tracksGrid = plan.gridPowerW !== undefined && Math.abs(plan.gridPowerW) <= gridTrackingW && netLoadW !== null
      target = tracksGrid ? (netLoadW! - plan.gridPowerW!) * share : plan.batteryPowerW * share
      mode = 'plan'
      if (tracksGrid) reasons.push('plan expects no grid exchange: tracking grid 0 W')
    } else if (surplusNetLoadW !== null) {
      target = surplusNetLoadW * share
      mode = 'self-consumption'
      reasons.push('no current plan: self-consumption')
    } else {
      target = 0
      mode = 'hold'
      reasons.push('no plan and no meter: hold at 0 W')
    }
    // 6. Market commitments shift the target, still inside the envelope.
    if (market) target += market.extraExportW * share
    return { name: battery.name, setpointW: clamp(target, lo, hi), envelope: { minW: lo, maxW: hi }, mode, reasons }
  })
}

/**
 * A cap per PV inverter, after the batteries: the export limit (safety) leaves the PV
 * whatever keeps grid export within maxExportW given the battery setpoints just decided;
 * the plan's curtailment may lower it further. Each cap is in [0, rating]; a cap at or
 * above the rating is released. Stale or unrated inverters are not commanded and assumed
 * to keep their output.
 */
function decidePvLimits({ snapshot, site, plan, pvLimits = {} }: DecideParameters, batteries: BatteryDecision[]): PvLimitDecision[] {
  const pvs = snapshot.pvInverters ?? []
  const ratingOf = (name: string) => {
    const r = pvLimits[name]?.ratedW
    return r !== null && r !== undefined && Number.isFinite(r) && r > 0 ? r : null
  }
  const controllable = pvs.filter((pv) => !pv.stale && pv.powerW !== null && ratingOf(pv.name) !== null)
  const ratedControllableW = controllable.reduce((s, pv) => s + ratingOf(pv.name)!, 0)

  // Export limit: grid next = grid now + (PV now - PV next) + (battery now - battery next), with
  // load, stale and unrated devices unchanged. Without a meter assume no load at all.
  let budgetW: number | null = null
  let budgetWhy = ''
  if (site.maxExportW !== null) {
    const batteryChangeW = batteries.reduce((s, d) => {
      const measured = snapshot.batteries.find((b) => b.name === d.name)?.powerW
      return d.setpointW === null || measured === null || measured === undefined ? s : s + measured - d.setpointW
    }, 0)
    const commandedBatteryW = batteries.reduce((s, d) => s + (d.setpointW ?? 0), 0)
    if (snapshot.gridW !== null) {
      budgetW = snapshot.gridW + controllable.reduce((s, pv) => s + pv.powerW!, 0) + batteryChangeW + site.maxExportW
      budgetWhy = `export limit ${site.maxExportW} W`
    } else {
      budgetW = site.maxExportW - commandedBatteryW
      budgetWhy = `export limit ${site.maxExportW} W, meter stale: assuming no load`
    }
    budgetW = Math.max(0, budgetW)
  }
  // The plan's curtailment: its planned PV output, shared like the ratings of all rated inverters.
  const planned = plan && plan.pvPowerW !== undefined && (plan.pvCurtailedW ?? 0) >= planCurtailmentMinW ? plan : null
  const ratedAllW = pvs.reduce((s, pv) => s + (ratingOf(pv.name) ?? 0), 0)

  return pvs.map((pv): PvLimitDecision => {
    const ratedW = ratingOf(pv.name)
    if (pv.stale || pv.powerW === null) return { name: pv.name, limitW: null, ratedW, mode: 'not-commanded', reasons: ['stale: not heard from within its timeout; left to its own revert timeout'] }
    if (ratedW === null) return { name: pv.name, limitW: null, ratedW, mode: 'not-commanded', reasons: ['rating unknown: a cap cannot be expressed'] }
    const reasons: string[] = []
    let limitW = ratedW
    let mode: PvLimitDecision['mode'] = 'released'
    // 1. Safety: the export limit, where the batteries cannot absorb the surplus.
    if (budgetW !== null && budgetW < ratedControllableW) {
      limitW = (budgetW * ratedW) / ratedControllableW
      mode = 'export-limit'
      reasons.push(`${budgetWhy}: PV <= ${Math.round(budgetW)} W in all`)
    }
    // 2. The plan, only lower.
    if (planned) {
      const planW = (Math.max(0, planned.pvPowerW!) * ratedW) / ratedAllW
      if (planW < limitW) {
        limitW = planW
        mode = 'plan'
        const negative = planned.exportPriceEurPerKWh !== undefined && planned.exportPriceEurPerKWh < 0
        reasons.push(`plan curtails ${Math.round(planned.pvCurtailedW!)} W: PV ${Math.round(planned.pvPowerW!)} W in all${negative ? ` (export price ${planned.exportPriceEurPerKWh} EUR/kWh)` : ''}`)
      }
    }
    if (mode === 'released') return { name: pv.name, limitW: null, ratedW, mode, reasons: ['no curtailment needed'] }
    return { name: pv.name, limitW: Math.floor(clamp(limitW, 0, ratedW)), ratedW, mode, reasons }
  })
}
