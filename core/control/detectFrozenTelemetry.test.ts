import { describe, expect, it } from 'vitest'
import { detectFrozenTelemetry, type FrozenValueLimits, type FrozenValueState } from './detectFrozenTelemetry.ts'

// A 13.5 kWh battery with a 0.1 % SoC register: one step is 13.5 Wh, frozen after 40.5 Wh.
const soc: FrozenValueLimits = { stepWh: 13.5, deadbandW: 50, lossFraction: 0.15 }

function run(samples: { timeMs: number; value: number | null; flowW: number | null }[], limits: FrozenValueLimits) {
  let state: FrozenValueState | null = null
  const frozen: boolean[] = []
  for (const s of samples) {
    state = detectFrozenTelemetry(state, s, limits)
    frozen.push(state.frozen)
  }
  return { state: state!, frozen }
}
const every = (n: number, stepMs: number, f: (i: number) => { value: number | null; flowW: number | null }) => Array.from({ length: n }, (_, i) => ({ timeMs: i * stepMs, ...f(i) }))

describe('detectFrozenTelemetry', () => {
  it('a SoC unchanged while 4.4 kW charges is frozen once 3 steps of energy flowed, not before', () => {
    // 4400 W x 1 s = 1.22 Wh a second; 3 steps (40.5 Wh) / (1 - 0.15) losses counted: 47.6 Wh of charge.
    const { frozen, state } = run(every(60, 1000, () => ({ value: 83.3, flowW: -4400 })), soc)
    const first = frozen.indexOf(true)
    const needS = (3 * 13.5) / 0.85 / (4400 / 3600)
    expect(first).toBe(Math.ceil(needS))
    expect(frozen.slice(first).every(Boolean)).toBe(true)
    expect(state.flowedWh).toBeGreaterThan(40.5)
    expect(state.changedAtMs).toBe(0)
  })

  it('a SoC that moves by its resolution as energy flows is never frozen', () => {
    // 4400 W at 95 % into 13.5 kWh moves SoC by 0.1 % every 11.6 s; a reading every second.
    const { frozen } = run(every(600, 1000, (i) => ({ value: Number((50 + Math.floor((i * 4400 * 0.95) / 3600 / 13.5) * 0.1).toFixed(1)), flowW: -4400 })), soc)
    expect(frozen.some(Boolean)).toBe(false)
  })

  it('power below the deadband, or back and forth about zero, never makes a value frozen', () => {
    expect(run(every(36_000, 1000, () => ({ value: 60, flowW: -40 })), soc).frozen.some(Boolean)).toBe(false)
    // +-300 W alternating every minute for 10 hours: SoC may sit on one step all the while.
    expect(run(every(36_000, 1000, (i) => ({ value: 60, flowW: Math.floor(i / 60) % 2 ? 300 : -300 })), soc).frozen.some(Boolean)).toBe(false)
  })

  it('the absolute cap: at low power, frozen after 15 min of flow once one step (with losses) flowed', () => {
    // 100 W: 3 steps with losses take 28 min; one step 9.5 min; the cap makes it 15 min.
    const { frozen } = run(every(2000, 1000, () => ({ value: 70, flowW: 100 })), soc)
    expect(frozen.indexOf(true)).toBe(900)
  })

  it('a gap longer than maxGapMs is not integrated, nor an interval whose ends disagree in sign', () => {
    const { state } = run([{ timeMs: 0, value: 1, flowW: 5000 }, { timeMs: 600_000, value: 1, flowW: 5000 }, { timeMs: 601_000, value: 1, flowW: -5000 }], { stepWh: 1, deadbandW: 10 })
    expect(state.positiveWh + state.negativeWh).toBe(0)
    expect(state.frozen).toBe(false)
  })

  it('stays frozen while unchanged, and is live again once the value moves', () => {
    const counter: FrozenValueLimits = { stepWh: 10, deadbandW: 50 }
    let state = run(every(40, 1000, () => ({ value: 1234, flowW: 3000 })), counter).state
    expect(state.frozen).toBe(true)
    state = detectFrozenTelemetry(state, { timeMs: 41_000, value: 1234, flowW: 0 }, counter)
    expect(state.frozen).toBe(true)
    state = detectFrozenTelemetry(state, { timeMs: 42_000, value: 1270, flowW: 3000 }, counter)
    expect(state).toMatchObject({ frozen: false, value: 1270, changedAtMs: 42_000, flowedWh: 0 })
  })

  it('a value that is not reported (null, NaN) is not tracked and never frozen', () => {
    expect(run(every(100, 1000, () => ({ value: null, flowW: 3000 })), { stepWh: 1, deadbandW: 0 }).frozen.some(Boolean)).toBe(false)
    expect(run(every(100, 1000, () => ({ value: Number.NaN, flowW: 3000 })), { stepWh: 1, deadbandW: 0 }).frozen.some(Boolean)).toBe(false)
    expect(run(every(100, 1000, () => ({ value: 5, flowW: null })), { stepWh: 1, deadbandW: 0 }).frozen.some(Boolean)).toBe(false)
  })
})
