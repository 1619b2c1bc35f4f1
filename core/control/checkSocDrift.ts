// A battery's SoC reading cross-checked against the energy its power reading says flowed:
// from an anchor reading, the SoC must stay within what the integrated power allows, with
// efficiency between `minEfficiency` and 1 either way, plus a tolerance. Each window is
// checked from a fresh anchor, so slow real drift (standby draw, BMS recalibration over
// days) does not add up to an alarm; a jump or a reading that ignores the power does.

export type SocDriftLimits = {
  capacityWh: number
  /** How far (SoC %) the reading may sit outside what the power allows. */
  tolerancePct: number
  /** Re-anchor after this long when consistent (default 30 min). */
  windowMs?: number
  /** Worst one-way efficiency between the power measured and the cells (default 0.85). */
  minEfficiency?: number
  /** Readings further apart than this (default 30 s) re-anchor: the flow between is unknown. */
  maxGapMs?: number
}

export type SocDriftState = {
  anchorSocPct: number
  anchorMs: number
  /** AC energy into (charge) and out of (discharge) the battery since the anchor, Wh. */
  chargedWh: number
  dischargedWh: number
  lastTimeMs: number
  lastPowerW: number
  /** Outside the tolerance: stays true until a whole window from a fresh anchor is consistent. */
  drifting: boolean
  /** Set when drifting: what was seen. */
  message: string | null
}

export type SocDriftSample = { timeMs: number; socPct: number | null; powerW: number | null }

const round = (v: number, digits = 1) => Number(v.toFixed(digits))

/** One reading: the next state, drifting or not. Pure; time is in the sample. Battery power > 0 is discharge. */
export function checkSocDrift(previous: SocDriftState | null, sample: SocDriftSample, limits: SocDriftLimits): SocDriftState | null {
  const { timeMs, socPct, powerW } = sample
  if (socPct === null || powerW === null || !Number.isFinite(socPct) || !Number.isFinite(powerW)) return previous && { ...previous, lastTimeMs: timeMs, anchorMs: Number.NaN }
  const anchor = (drifting: boolean, message: string | null): SocDriftState => ({ anchorSocPct: socPct, anchorMs: timeMs, chargedWh: 0, dischargedWh: 0, lastTimeMs: timeMs, lastPowerW: powerW, drifting, message })
  if (previous === null || Number.isNaN(previous.anchorMs)) return anchor(previous?.drifting ?? false, previous?.message ?? null)
  const dtMs = timeMs - previous.lastTimeMs
  if (dtMs < 0 || dtMs > (limits.maxGapMs ?? 30_000)) return anchor(previous.drifting, previous.message)
  const state: SocDriftState = { ...previous, lastTimeMs: timeMs, lastPowerW: powerW }
  // Trapezoid: the power between two readings is taken to move linearly.
  const wh = (((previous.lastPowerW + powerW) / 2) * dtMs) / 3_600_000
  if (wh > 0) state.dischargedWh += wh
  else state.chargedWh -= wh
  const eta = limits.minEfficiency ?? 0.85
  const pct = (energyWh: number) => (energyWh / limits.capacityWh) * 100
  // The SoC change the power allows: from the least (losses on charge, none on discharge) to the most.
  const lowestPct = pct(eta * state.chargedWh - state.dischargedWh / eta)
  const highestPct = pct(state.chargedWh - state.dischargedWh)
  const changePct = socPct - previous.anchorSocPct
  const offPct = changePct < lowestPct ? lowestPct - changePct : changePct > highestPct ? changePct - highestPct : 0
  if (offPct > limits.tolerancePct) {
    const expected = changePct < lowestPct ? previous.anchorSocPct + lowestPct : previous.anchorSocPct + highestPct
    const minutes = Math.round((timeMs - previous.anchorMs) / 60_000)
    const message = `SoC reads ${round(socPct)} % where its power allows at ${changePct < lowestPct ? 'least' : 'most'} ${round(expected)} % (${round(state.chargedWh, 0)} Wh charged, ${round(state.dischargedWh, 0)} Wh discharged in ${minutes} min since it read ${round(previous.anchorSocPct)} %; tolerance ${limits.tolerancePct} %)`
    return anchor(true, message)
  }
  if (timeMs - previous.anchorMs >= (limits.windowMs ?? 1_800_000)) return anchor(false, null)
  return state
}
