import { describe, expect, it } from 'vitest'
import { checkSocDrift, type SocDriftLimits, type SocDriftState } from './checkSocDrift.ts'

const limits: SocDriftLimits = { capacityWh: 10_000, tolerancePct: 2 }

function run(samples: { timeMs: number; socPct: number | null; powerW: number | null }[]) {
  let state: SocDriftState | null = null
  const out: (SocDriftState | null)[] = []
  for (const s of samples) out.push((state = checkSocDrift(state, s, limits)))
  return out
}

describe('checkSocDrift', () => {
  it('a SoC that follows its power within the efficiencies is consistent', () => {
    // 5 kW charge at 92 % efficiency for 20 min: +15.3 % of 10 kWh.
    const states = run(Array.from({ length: 1201 }, (_, i) => ({ timeMs: i * 1000, socPct: Number((40 + (5000 * 0.92 * i) / 3600 / 100).toFixed(1)), powerW: -5000 })))
    expect(states.some((s) => s?.drifting)).toBe(false)
  })

  it('a SoC that jumps, or ignores the power, drifts beyond the tolerance and names what it saw', () => {
    const jump = run([{ timeMs: 0, socPct: 50, powerW: 0 }, { timeMs: 1000, socPct: 50, powerW: 0 }, { timeMs: 2000, socPct: 55, powerW: 0 }])
    expect(jump.at(-1)).toMatchObject({ drifting: true })
    expect(jump.at(-1)!.message).toMatch(/SoC reads 55 % where its power allows at most 50 %/)
    // Discharging 5 kW for 10 min (-8.3 % or more) while the reading stands still.
    const still = run(Array.from({ length: 601 }, (_, i) => ({ timeMs: i * 1000, socPct: 70, powerW: 5000 })))
    const first = still.findIndex((s) => s?.drifting)
    // At least 2 % of 10 kWh (200 Wh) must be missing: 144 s at 5 kW.
    expect(first).toBeGreaterThanOrEqual(144)
    expect(first).toBeLessThan(150)
    expect(still[first]!.message).toMatch(/at most 68 %/)
  })

  it('stays drifting until a whole window from a fresh anchor is consistent, then clears', () => {
    let state: SocDriftState | null = null
    state = checkSocDrift(state, { timeMs: 0, socPct: 50, powerW: 0 }, limits)
    state = checkSocDrift(state, { timeMs: 1000, socPct: 60, powerW: 0 }, limits)
    expect(state!.drifting).toBe(true)
    for (let t = 2000; t < 1_801_000; t += 1000) state = checkSocDrift(state, { timeMs: t, socPct: 60, powerW: 0 }, limits)
    expect(state!.drifting).toBe(true)
    state = checkSocDrift(state, { timeMs: 1_802_000, socPct: 60, powerW: 0 }, limits)
    expect(state!.drifting).toBe(false)
  })

  it('re-anchors over a gap in the readings and over a missing SoC instead of guessing the flow', () => {
    const states = run([{ timeMs: 0, socPct: 50, powerW: 5000 }, { timeMs: 600_000, socPct: 50, powerW: 5000 }, { timeMs: 601_000, socPct: null, powerW: 5000 }, { timeMs: 602_000, socPct: 50, powerW: 5000 }])
    expect(states.some((s) => s?.drifting)).toBe(false)
    expect(states.at(-1)).toMatchObject({ anchorMs: 602_000, dischargedWh: 0 })
  })
})
