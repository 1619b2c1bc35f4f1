import { createSeededRandom } from '../random/createSeededRandom.ts'
import { SoakError } from './SoakError.ts'

/** The kinds of fault a soak injects (README.md describes each). */
export const faultKinds = ['timeout', 'exception', 'disconnect', 'garbage', 'frozen', 'nan', 'trip', 'slow', 'forecast', 'plan', 'kill'] as const
export type FaultKind = (typeof faultKinds)[number]

export type SoakDevice = { name: string; kind: 'inverter' | 'battery' | 'meter' }

/** What the simulator's fault API is told while the fault lasts (a subset of hardware-sims/faults.ts). */
export type SimFaultPatch = {
  noResponse?: boolean
  exceptionCode?: number
  refuseConnections?: boolean
  garbageFrames?: number
  frozen?: boolean
  sentinelPoints?: string[]
  tripped?: boolean
  delayMs?: number
}

export type PlannedFault = {
  id: number
  kind: FaultKind
  /** A device name, or `forecast`, `plan` or `service` (the site service process). */
  target: string
  startMs: number
  /** When the fault is cleared; for a kill, when the service is started again. */
  endMs: number
  sim: SimFaultPatch | null
  /** A kill: SIGKILL between two cycles, or inside the cycle at startMs after its n-th store call (after the cycle, before its acknowledgement, when it makes fewer). */
  kill?: { during: 'idle' } | { during: 'cycle'; afterStoreCalls: number }
}

export type PlanFaultsParameters = {
  seed: number
  count: number
  fromMs: number
  toMs: number
  cycleMs: number
  devices: readonly SoakDevice[]
  /** No fault starts before fromMs + quietStartMs, and every fault is cleared quietEndMs before toMs (defaults 1 h and 1 h). */
  quietStartMs?: number
  quietEndMs?: number
}

const second = 1000
// Simulated durations: long enough to cross the controller's stale window for most, short enough that 200 fit a day.
const durationS: Record<FaultKind, [number, number]> = {
  timeout: [60, 900],
  exception: [60, 900],
  disconnect: [60, 600],
  garbage: [60, 900],
  frozen: [900, 7200],
  nan: [300, 3600],
  trip: [300, 3600],
  slow: [120, 600],
  forecast: [900, 7200],
  plan: [900, 7200],
  kill: [0, 300],
}
const nanPoint: Record<SoakDevice['kind'], string[]> = { battery: ['802.SoC', '802.W'], inverter: ['103.W'], meter: ['203.W'] }

/**
 * A seeded fault schedule: `count` faults with kinds drawn evenly, starts uniform over the
 * run on cycle boundaries, and durations drawn per kind. A fault is shortened so it ends
 * two cycles before the next fault on the same target starts (at least one cycle), so
 * detection and recovery can be attributed to one fault.
 */
export function planFaults(p: PlanFaultsParameters): PlannedFault[] {
  const random = createSeededRandom(p.seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const between = (lo: number, hi: number) => lo + random() * (hi - lo)
  const quietStartMs = p.quietStartMs ?? 3_600_000
  const quietEndMs = p.quietEndMs ?? 3_600_000
  const firstMs = Math.ceil((p.fromMs + quietStartMs) / p.cycleMs) * p.cycleMs
  const lastEndMs = Math.floor((p.toMs - quietEndMs) / p.cycleMs) * p.cycleMs
  const cycles = Math.floor((lastEndMs - firstMs) / p.cycleMs) - 1
  if (cycles < 1) throw new SoakError(`the run is too short for faults: ${(p.toMs - p.fromMs) / 3_600_000} h leaves no time between the quiet first and last hour`)
  if (p.count > cycles) throw new SoakError(`${p.count} faults do not fit ${cycles} control cycles; expected at most one fault starting per cycle`)
  const trippable = p.devices.filter((d) => d.kind !== 'meter')
  const drafts = Array.from({ length: p.count }, () => {
    const kind = pick(faultKinds)
    const device = kind === 'trip' ? pick(trippable) : pick(p.devices)
    const target = kind === 'forecast' || kind === 'plan' ? kind : kind === 'kill' ? 'service' : device.name
    const startMs = firstMs + Math.floor(random() * cycles) * p.cycleMs
    const [lo, hi] = durationS[kind]
    const durationMs = Math.round(between(lo, hi) * second / p.cycleMs) * p.cycleMs
    let sim: SimFaultPatch | null = null
    if (kind === 'timeout') sim = { noResponse: true }
    if (kind === 'exception') sim = { exceptionCode: pick([2, 4, 6]) }
    if (kind === 'disconnect') sim = { refuseConnections: true }
    if (kind === 'garbage') sim = { garbageFrames: pick([0.3, 1]) }
    if (kind === 'frozen') sim = { frozen: true }
    if (kind === 'nan') sim = { sentinelPoints: [pick(nanPoint[device.kind])] }
    if (kind === 'trip') sim = { tripped: true }
    // Slow but well inside the devices' 500 ms timeout: the service must ride through it.
    if (kind === 'slow') sim = { delayMs: Math.round(between(30, 150)) }
    const kill = kind === 'kill' ? (random() < 0.5 ? { during: 'idle' as const } : { during: 'cycle' as const, afterStoreCalls: Math.floor(between(0, 8)) }) : undefined
    return { kind, target, startMs, durationMs, sim, kill }
  })
  // Distinct start cycles, so the schedule is a sequence (ties broken by draw order).
  const taken = new Set<number>()
  for (const d of drafts) {
    while (taken.has(d.startMs)) d.startMs = d.startMs + p.cycleMs >= lastEndMs ? firstMs : d.startMs + p.cycleMs
    taken.add(d.startMs)
  }
  drafts.sort((a, b) => a.startMs - b.startMs)
  return drafts.map((d, i) => {
    const next = drafts.slice(i + 1).find((x) => x.target === d.target)
    const limitMs = Math.min(lastEndMs, next ? next.startMs - 2 * p.cycleMs : lastEndMs)
    const minMs = d.kind === 'kill' ? 0 : p.cycleMs
    const endMs = Math.max(d.startMs + minMs, Math.min(d.startMs + d.durationMs, limitMs))
    return { id: i + 1, kind: d.kind, target: d.target, startMs: d.startMs, endMs, sim: d.sim, ...(d.kill && { kill: d.kill }) }
  })
}
