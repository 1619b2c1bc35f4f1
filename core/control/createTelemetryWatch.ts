import { checkSocDrift, type SocDriftState } from './checkSocDrift.ts'
import { detectFrozenTelemetry, type FrozenValueLimits, type FrozenValueState } from './detectFrozenTelemetry.ts'

// Which values of a device are watched for freezing, and by which power (the rules and
// bounds: core/control/README.md, "Stale and frozen telemetry"):
// - battery SoC, moved by the battery's power (a step is capacity x SoC resolution);
// - battery power, which must follow a command it differs from (a battery frozen while idle
//   and then told to charge shows no flow at all in its frozen power reading);
// - meter import and export counters, moved by the meter's power either way;
// - PV energy counter, moved by the PV power;
// - meter power, which must move when the batteries' and PV inverters' power moves (a meter
//   frozen while the grid is near 0 W moves no energy through its counters).

export type TelemetryWatchOptions = {
  name: string
  /** A battery's ratings; capacity null: assumed 4 h at its larger rating (slower detection, never a false one). */
  battery?: { capacityWh: number | null; maxChargeW: number | null; maxDischargeW: number | null }
  /** Steps of energy that flow unseen before a value counts as frozen (default 3). */
  marginSteps?: number
  /** The absolute cap on detection time at low power (default 15 min). */
  maxUnchangedFlowMs?: number
}

export type WatchedReading = {
  timeMs: number
  /** The device's own power reading (meter > 0 import, battery > 0 discharge, PV >= 0). */
  powerW: number | null
  socPct?: number | null
  /** SoC register resolution (%), where the driver knows it; default 1 %. */
  socStepPct?: number | null
  /** The battery setpoint in force (the loop's last verified write), or null: none. */
  commandW?: number | null
  importWh?: number | null
  exportWh?: number | null
  energyWh?: number | null
  /** Energy counter resolution (Wh), where the driver knows it; default 1000 Wh (a kWh counter). */
  energyStepWh?: number | null
  /**
   * For a meter at the connection point: the batteries' and PV inverters' power read in the
   * same cycle (sum), or null when one of them was not read. Grid power must move when they
   * do; the load would have to cancel them to the watt.
   */
  othersW?: number | null
}

export type WatchVerdict = {
  /** Why the device's readings are not trusted (frozen values named), or null. */
  frozen: string | null
  /** A battery SoC that disagrees with its integrated power, or null. */
  drift: string | null
}

/**
 * A meter reading that stays put while the power it must see moves by this much (W) for
 * 3 x this many Wh: 15 Wh, 54 s at a 1 kW change, 14 s at 4 kW.
 */
const gridStepWh = 5
const gridDeadbandW = 100
/** A counter step below this is not trusted: meters update energy registers less often than power. */
const minCounterStepWh = 10
/** A battery assumed this many hours of its rating when it does not report its capacity. */
const assumedHours = 4

type Channel = { label: string; limits: FrozenValueLimits; state: FrozenValueState | null; describe(s: FrozenValueState, reading: WatchedReading): string }

const r = (v: number, digits = 0) => Number(v.toFixed(digits))
const seconds = (s: FrozenValueState) => Math.round((s.lastTimeMs - s.changedAtMs) / 1000)

/** Watches one device's readings, cycle by cycle, for frozen values and (batteries) SoC drift. */
export function createTelemetryWatch(options: TelemetryWatchOptions) {
  const margin = options.marginSteps ?? 3
  const cap = options.maxUnchangedFlowMs ?? 900_000
  const bat = options.battery
  const ratingW = bat ? Math.max(bat.maxChargeW ?? 0, bat.maxDischargeW ?? 0) : 0
  const capacityWh = bat ? (bat.capacityWh && bat.capacityWh > 0 ? bat.capacityWh : ratingW * assumedHours) : 0
  const channels = new Map<string, Channel>()
  let drift: SocDriftState | null = null
  /** The batteries' and PV power when the meter's reading last changed. */
  let othersAtChangeW: number | null = null

  const channel = (key: string, label: string, limits: Omit<FrozenValueLimits, 'marginSteps' | 'maxUnchangedFlowMs'>, describe: Channel['describe']) => {
    let c = channels.get(key)
    if (!c) channels.set(key, (c = { label, limits: { ...limits, marginSteps: margin, maxUnchangedFlowMs: cap }, state: null, describe }))
    else {
      c.limits = { ...c.limits, ...limits } // steps follow what the device reports (a scale factor may change)
      c.describe = describe
    }
    return c
  }
  const step = (c: Channel, value: number | null | undefined, flowW: number | null, timeMs: number) => {
    c.state = detectFrozenTelemetry(c.state, { timeMs, value: value ?? null, flowW }, c.limits)
    return c.state
  }

  return {
    observe(reading: WatchedReading): WatchVerdict {
      const { timeMs, powerW } = reading
      const frozen: string[] = []
      const check = (c: Channel, s: FrozenValueState) => {
        if (s.frozen) frozen.push(c.describe(s, reading))
      }
      if (bat && capacityWh > 0) {
        const socStepPct = reading.socStepPct && reading.socStepPct > 0 ? reading.socStepPct : 1
        const stepWh = (capacityWh * socStepPct) / 100
        const soc = channel('soc', 'SoC', { stepWh, deadbandW: Math.max(50, 0.01 * ratingW), lossFraction: 0.15 }, (s) => `SoC frozen at ${s.value} % for ${seconds(s)} s while ${r(s.flowedWh)} Wh flowed (battery power ${r(s.lastFlowW ?? 0)} W)`)
        const socState = step(soc, reading.socPct, powerW, timeMs)
        const command = reading.commandW ?? null
        const mismatchW = command !== null && powerW !== null ? Math.abs(command - powerW) : null
        const powerDeadbandW = Math.max(100, 0.05 * ratingW)
        const power = channel('power', 'power', { stepWh, deadbandW: powerDeadbandW }, (s) => `power reading frozen at ${s.value} W for ${seconds(s)} s while commanded ${command} W (${r(s.flowedWh)} Wh unaccounted for)`)
        const powerState = step(power, powerW, mismatchW, timeMs)
        // A power reading frozen at what it is now commanded (0 W on hold) cannot move to show it
        // is live again; it is, once it agrees with the command and the SoC moved with it.
        if (powerState.frozen && mismatchW !== null && mismatchW < powerDeadbandW && socState.changedAtMs === timeMs && socState.value !== null && !socState.frozen) power.state = { ...powerState, frozen: false, changedAtMs: timeMs, positiveWh: 0, negativeWh: 0, flowedWh: 0, flowMs: 0 }
        check(soc, socState)
        check(power, power.state!)
        if (bat.capacityWh && bat.capacityWh > 0 && !socState.frozen && !power.state!.frozen) {
          drift = checkSocDrift(drift, { timeMs, socPct: reading.socPct ?? null, powerW }, { capacityWh: bat.capacityWh, tolerancePct: Math.max(2, 3 * socStepPct) })
        } else drift = null
      }
      const counterStep = Math.max(minCounterStepWh, reading.energyStepWh && reading.energyStepWh > 0 ? reading.energyStepWh : 1000)
      const counterLimits = { stepWh: counterStep, deadbandW: 50 }
      if (reading.importWh !== undefined) {
        const c = channel('import', 'import energy', counterLimits, (s) => `import energy counter frozen at ${s.value} Wh for ${seconds(s)} s while importing ${r(powerW ?? 0)} W (${r(s.flowedWh)} Wh)`)
        check(c, step(c, reading.importWh, powerW === null ? null : Math.max(0, powerW), timeMs))
      }
      if (reading.exportWh !== undefined) {
        const c = channel('export', 'export energy', counterLimits, (s) => `export energy counter frozen at ${s.value} Wh for ${seconds(s)} s while exporting ${r(Math.max(0, -(powerW ?? 0)))} W (${r(s.flowedWh)} Wh)`)
        check(c, step(c, reading.exportWh, powerW === null ? null : Math.max(0, -powerW), timeMs))
      }
      if (reading.othersW !== undefined) {
        const othersW = reading.othersW
        const c = channel('grid', 'power', { stepWh: gridStepWh, deadbandW: gridDeadbandW }, (s) => `power reading frozen at ${s.value} W for ${seconds(s)} s while the batteries and PV it measures moved by ${r(Math.abs((othersW ?? 0) - (othersAtChangeW ?? 0)))} W`)
        const flowW = othersW === null || othersAtChangeW === null ? null : Math.abs(othersW - othersAtChangeW)
        const s = step(c, powerW, flowW, timeMs)
        if (s.changedAtMs === timeMs) othersAtChangeW = othersW
        check(c, s)
      }
      if (reading.energyWh !== undefined) {
        const c = channel('energy', 'energy', counterLimits, (s) => `energy counter frozen at ${s.value} Wh for ${seconds(s)} s while producing ${r(powerW ?? 0)} W (${r(s.flowedWh)} Wh)`)
        check(c, step(c, reading.energyWh, powerW === null ? null : Math.max(0, powerW), timeMs))
      }
      return { frozen: frozen.length ? frozen.join('; ') : null, drift: drift?.drifting ? drift.message : null }
    },
  }
}
