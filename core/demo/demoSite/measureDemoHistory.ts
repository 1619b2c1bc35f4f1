import { measureHistoryOnDevices, type MeasuredSlot } from '../../simulator/measureHistoryOnDevices.ts'
import type { BatteryControl, Meter, PvInverter } from '../../devices/capabilities.ts'

export type MeasureDemoHistoryParameters = {
  /** steps the site's simulator clock by this many simulated seconds */
  advance: (seconds: number) => Promise<unknown>
  meter: Meter
  pvs: PvInverter[]
  batteries: BatteryControl[]
  fromMs: number
  toMs: number
  slotMs: number
  /** battery power sample, simulated seconds (default 300) */
  sampleS?: number
}

/**
 * The site's past as its meters saw it, measured on the site's own simulator before the
 * market opens: measureSiteHistory's pass (measureHistoryOnDevices) (nobody commands the battery, which runs its own
 * self-consumption fallback; grid and PV from the energy counters once a slot, battery
 * power every `sampleS`, all over Modbus; load = grid + PV + battery), without a second
 * simulator process.
 */
export function measureDemoHistory(p: MeasureDemoHistoryParameters): Promise<MeasuredSlot[]> {
  return measureHistoryOnDevices({ ...p, sampleS: p.sampleS ?? 300 })
}
