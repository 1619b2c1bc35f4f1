// The pure decision of one control cycle. Controllers run in priority order and each
// may only narrow what the ones before it allowed: safety builds the envelope (power
// ratings, SoC limits, ramp rate, then grid limits as far as physics allows), the plan
// picks a target inside it, market commitments shift the target inside it. The final
// setpoint is clamped to the envelope, so no later controller can leave it.

export type BatterySnapshot = {
  name: string
  /** Measured AC power, > 0 discharge; null when the device is stale. */
  powerW: number | null
  socPct: number | null
  stale: boolean
}

export type Snapshot = {
  timeMs: number
  /** Grid power at the connection point, > 0 import; null when the meter is stale. */
  gridW: number | null
  pvW: number | null
  batteries: BatterySnapshot[]
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
export type PlanTarget = { batteryPowerW: number; gridPowerW?: number; slotStartMs: number } | null

/** Planned grid exchange this small means "self-consume in this slot". */
export const gridTrackingW = 50

/** Energy sold (> 0) or bought (< 0) for this interval that the battery must deliver, in W. */
export type MarketCommitment = { extraExportW: number } | null

export type BatteryDecision = {
  name: string
  /** The setpoint to write, or null: do not command (stale device, it falls back on its own). */
  setpointW: number | null
  envelope: { minW: number; maxW: number }
  mode: 'plan' | 'self-consumption' | 'hold' | 'not-commanded'
  /** Why the envelope is narrower than the ratings, or why the mode was chosen. */
  reasons: string[]
}

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
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v))

export function decideSetpoints({ snapshot, limits, site, plan, market, previousW, dtS }: DecideParameters): BatteryDecision[] {
  const live = snapshot.batteries.filter((b) => !b.stale && b.powerW !== null)
  const measuredBatteryW = live.reduce((s, b) => s + (b.powerW ?? 0), 0)
  // load - pv: what the site needs from battery + grid right now.
  const netLoadW = snapshot.gridW === null ? null : snapshot.gridW + measuredBatteryW
  const share = 1 / Math.max(1, live.length)

  return snapshot.batteries.map((battery): BatteryDecision => {
    const limit = limits[battery.name]
    if (!limit) throw new RangeError(`no limits for battery '${battery.name}'`)
    if (battery.stale || battery.powerW === null) {
      return { name: battery.name, setpointW: null, envelope: { minW: 0, maxW: 0 }, mode: 'not-commanded', reasons: ['stale: not heard from within its timeout; left to its own fallback'] }
    }
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
    if (netLoadW !== null) {
      const mine = netLoadW * share
      if (site.maxImportW !== null && mine - site.maxImportW * share > lo) {
        const need = Math.min(hi, mine - site.maxImportW * share)
        if (need > lo) {
          lo = need
          reasons.push(`import limit: >= ${Math.round(lo)} W`)
        }
      }
      if (site.maxExportW !== null && mine + site.maxExportW * share < hi) {
        const need = Math.max(lo, mine + site.maxExportW * share)
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
    } else if (netLoadW !== null) {
      target = netLoadW * share
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
