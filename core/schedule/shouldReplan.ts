import { normalizePlanInput, type NormalizedPlanInput } from './normalizePlanInput.ts'
import { parsePlanInput } from './parsePlanInput.ts'
import type { PlanInputParameters } from './planInputSchema.ts'
import type { Plan } from './planSchedule.ts'

/** What counts as a material change; defaults in DEFAULT_REPLAN_THRESHOLDS. */
export type ReplanThresholds = {
  /** Any slot's load or PV forecast moved by more than this. */
  forecastPowerW: number
  /** The horizon's load or PV energy moved by more than this share (%) of the previous total. */
  forecastEnergyPct: number
  /** Any slot's import, export or market price moved by more than this. */
  priceEurPerKWh: number
  /** The measured SoC is this far from what the plan predicted for now. */
  socPct: number
}

export const DEFAULT_REPLAN_THRESHOLDS: ReplanThresholds = {
  forecastPowerW: 500,
  forecastEnergyPct: 10,
  priceEurPerKWh: 0.01,
  socPct: 3,
}

export type ReplanDecision = { replan: boolean; reasons: string[] }

/**
 * Receding horizon: decides whether `current` (the inputs now) differs materially from
 * the inputs `previous.plan` was made from. A new slot always re-plans. Pure.
 */
export function shouldReplan(
  previous: { input: PlanInputParameters; plan: Plan },
  current: PlanInputParameters,
  thresholds: Partial<ReplanThresholds> = {},
): ReplanDecision {
  const limits = { ...DEFAULT_REPLAN_THRESHOLDS, ...thresholds }
  const before = normalizePlanInput(parsePlanInput(previous.input, 'previous input'))
  const now = normalizePlanInput(parsePlanInput(current, 'current input'))
  const reasons: string[] = []
  const { plan } = previous
  const durationMs = now.input.slotDurationMs

  if (plan.status !== 'optimal') reasons.push(`the previous plan is ${plan.status}, not optimal`)
  if (now.input.startMs < before.input.startMs) reasons.push('time went backwards (startMs is before the previous plan)')
  if (now.input.startMs >= before.input.startMs + before.input.slotDurationMs) {
    reasons.push('a new slot started (re-plan every slot)')
  }
  for (const key of ['slotDurationMs', 'objective', 'allowPvCurtailment', 'grid', 'flexibleLoads', 'market', 'penalties'] as const) {
    if (JSON.stringify(before.input[key]) !== JSON.stringify(now.input[key])) reasons.push(`${key} changed`)
  }
  const { socPct: _previousSoc, ...batteryBefore } = before.input.battery ?? { socPct: 0 }
  const { socPct: _currentSoc, ...batteryNow } = now.input.battery ?? { socPct: 0 }
  if (JSON.stringify(batteryBefore) !== JSON.stringify(batteryNow)) reasons.push('battery settings changed')
  if (reasons.length > 0) return { replan: true, reasons }

  // Same slot length and the current start inside the previous first slot: slots align.
  compareForecasts(before, now, limits, reasons)
  comparePrices(before, now, limits, reasons)

  const soc = now.input.battery?.socPct
  const expected = expectedSocPct(plan, now.input.startMs, durationMs)
  if (soc !== undefined && expected !== undefined && Math.abs(soc - expected) > limits.socPct) {
    reasons.push(`battery SoC ${soc} % is ${Math.abs(soc - expected).toFixed(1)} points from the planned ${expected.toFixed(1)} %`)
  }
  return { replan: reasons.length > 0, reasons }
}

function compareForecasts(before: NormalizedPlanInput, now: NormalizedPlanInput, limits: ReplanThresholds, reasons: string[]) {
  const count = Math.min(before.slotCount, now.slotCount)
  for (const [name, a, b] of [
    ['load', before.loadKw, now.loadKw],
    ['PV', before.pvKw, now.pvKw],
  ] as const) {
    let worst = 0
    let worstSlot = 0
    let energyBefore = 0
    let energyNow = 0
    for (let t = 0; t < count; t++) {
      const delta = Math.abs(a[t]! - b[t]!) * 1000
      if (delta > worst) {
        worst = delta
        worstSlot = t
      }
      energyBefore += a[t]!
      energyNow += b[t]!
    }
    if (worst > limits.forecastPowerW) {
      reasons.push(`${name} forecast moved by ${Math.round(worst)} W in slot ${worstSlot} (threshold ${limits.forecastPowerW} W)`)
    } else if (energyBefore > 0 && (Math.abs(energyNow - energyBefore) / energyBefore) * 100 > limits.forecastEnergyPct) {
      reasons.push(`${name} forecast energy moved by more than ${limits.forecastEnergyPct} %`)
    }
  }
}

function comparePrices(before: NormalizedPlanInput, now: NormalizedPlanInput, limits: ReplanThresholds, reasons: string[]) {
  const count = Math.min(before.slotCount, now.slotCount)
  for (const [name, a, b] of [
    ['import price', before.importPrice, now.importPrice],
    ['export price', before.exportPrice, now.exportPrice],
    ['market buy price', before.marketBuyPrice, now.marketBuyPrice],
    ['market sell price', before.marketSellPrice, now.marketSellPrice],
  ] as const) {
    for (let t = 0; t < count; t++) {
      const x = a[t]
      const y = b[t]
      if (x === undefined && y === undefined) continue
      if (x === undefined || y === undefined || Math.abs(x - y) > limits.priceEurPerKWh) {
        reasons.push(`${name} changed in slot ${t}`)
        break
      }
    }
  }
}

/** The plan's SoC at timeMs, interpolated inside its slot; undefined outside the plan or without a battery. */
function expectedSocPct(plan: Plan, timeMs: number, durationMs: number): number | undefined {
  const index = Math.floor((timeMs - plan.startMs) / durationMs)
  const slot = plan.slots[index]
  if (!slot || slot.socPct === null) return undefined
  const startSoc = index === 0 ? plan.initialSocPct : plan.slots[index - 1]!.socPct
  if (startSoc === null) return undefined
  const fraction = (timeMs - slot.startMs) / durationMs
  return startSoc + (slot.socPct - startSoc) * fraction
}
