// A reading that stops changing while energy flows that must move it (a battery's SoC, an
// energy counter) is frozen: the device answers, but from a hung data acquisition. The rule
// is physical, so a slow-moving value is not taken for a frozen one: a value with a register
// step of `stepWh` (the energy that moves it by one step: capacity x SoC resolution, or a
// counter's resolution) must have changed once `marginSteps` steps' worth of energy flowed
// since it last changed. An absolute cap bounds the time at low power: after
// `maxUnchangedFlowMs` of flow it is frozen once one step's worth flowed.
// Bounds and reasons: core/control/README.md, "Stale and frozen telemetry".

export type FrozenValueLimits = {
  /** Energy (Wh) that moves the value by one register step. */
  stepWh: number
  /** |power| below this (W) counts as no flow: offsets, standby draw, noise. */
  deadbandW: number
  /**
   * Losses between the power measured and the energy that moves the value (0..<1): a
   * battery's SoC moves by at least (1 - loss) of what flowed into it, and losses may undo
   * flow in the other direction; 0 for an energy counter of the same power.
   */
  lossFraction?: number
  /** Frozen once this many steps' worth flowed unseen (default 3). */
  marginSteps?: number
  /** The absolute cap (default 15 min): this long with flow and one step's worth, and it is frozen. */
  maxUnchangedFlowMs?: number
  /** Two readings further apart than this (default 30 s) are not integrated: the power read at an instant stands for the interval only when it is short (a setpoint may lapse on a device command timeout of 60 s between two readings). */
  maxGapMs?: number
}

export type FrozenValueSample = {
  timeMs: number
  /** The watched value; null or NaN: not reported (not tracked, never frozen). */
  value: number | null
  /** The power that moves it, signed; null: unknown (nothing integrated). */
  flowW: number | null
}

export type FrozenValueState = {
  value: number | null
  /** When the value last changed (or tracking began): how long it has been unchanged. */
  changedAtMs: number
  /** Energy integrated since then, by direction of flow (Wh, both >= 0). */
  positiveWh: number
  negativeWh: number
  /** Of that, the energy that moved the value for certain (losses may undo flow the other way). */
  flowedWh: number
  /** Time with flow above the deadband since then. */
  flowMs: number
  lastTimeMs: number
  lastFlowW: number | null
  frozen: boolean
}

const guaranteedFlowWh = (positiveWh: number, negativeWh: number, lossFraction: number) => {
  const a = 1 - lossFraction
  return Math.max(0, a * positiveWh - negativeWh / a, a * negativeWh - positiveWh / a)
}

/** One reading of a watched value: the next state, frozen or not. Pure; time is in the sample. */
export function detectFrozenTelemetry(previous: FrozenValueState | null, sample: FrozenValueSample, limits: FrozenValueLimits): FrozenValueState {
  const { timeMs } = sample
  const value = sample.value !== null && Number.isFinite(sample.value) ? sample.value : null
  const flowW = sample.flowW !== null && Number.isFinite(sample.flowW) ? sample.flowW : null
  const fresh: FrozenValueState = { value, changedAtMs: timeMs, positiveWh: 0, negativeWh: 0, flowedWh: 0, flowMs: 0, lastTimeMs: timeMs, lastFlowW: flowW, frozen: false }
  if (previous === null || value === null || previous.value === null || value !== previous.value) return fresh
  const state: FrozenValueState = { ...previous, lastTimeMs: timeMs, lastFlowW: flowW }
  const dtMs = timeMs - previous.lastTimeMs
  const before = previous.lastFlowW
  // The power at either end of the interval, on the same side of the deadband: the smaller
  // counts (power may have changed at any moment between two readings).
  if (dtMs > 0 && dtMs <= (limits.maxGapMs ?? 30_000) && before !== null && flowW !== null && Math.sign(before) === Math.sign(flowW)) {
    const powerW = Math.min(Math.abs(before), Math.abs(flowW))
    if (powerW >= limits.deadbandW && powerW > 0) {
      const wh = (powerW * dtMs) / 3_600_000
      if (flowW > 0) state.positiveWh += wh
      else state.negativeWh += wh
      state.flowMs += dtMs
    }
  }
  const flowedWh = (state.flowedWh = guaranteedFlowWh(state.positiveWh, state.negativeWh, limits.lossFraction ?? 0))
  state.frozen =
    previous.frozen ||
    flowedWh >= (limits.marginSteps ?? 3) * limits.stepWh ||
    (state.flowMs >= (limits.maxUnchangedFlowMs ?? 900_000) && flowedWh >= limits.stepWh)
  return state
}
