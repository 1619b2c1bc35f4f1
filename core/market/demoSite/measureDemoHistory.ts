import type { MeasuredSlot } from '../../control/backtest/measureSiteHistory.ts'
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
 * market opens: measureSiteHistory's pass (nobody commands the battery, which runs its own
 * self-consumption fallback; grid and PV from the energy counters once a slot, battery
 * power every `sampleS`, all over Modbus; load = grid + PV + battery), without a second
 * simulator process.
 */
export async function measureDemoHistory(p: MeasureDemoHistoryParameters): Promise<MeasuredSlot[]> {
  const sampleS = p.sampleS ?? 300
  const samples = p.slotMs / (sampleS * 1000)
  // A SunSpec accumulator reads 0 as "not implemented", so a counter that has not moved yet is null: count it as 0.
  const counters = async () => {
    const m = await p.meter.readMeter()
    let pvWh = 0
    for (const pv of p.pvs) pvWh += (await pv.readPv()).energyWh ?? 0
    return { gridWh: (m.importWh ?? 0) - (m.exportWh ?? 0), pvWh }
  }
  const hours = p.slotMs / 3_600_000
  const slots: MeasuredSlot[] = []
  let before = await counters()
  for (let t = p.fromMs; t + p.slotMs <= p.toMs; t += p.slotMs) {
    let batterySum = 0
    for (let s = 0; s < samples; s++) {
      await p.advance(sampleS)
      for (const b of p.batteries) batterySum += (await b.readBattery()).powerW ?? 0
    }
    const after = await counters()
    const pvW = (after.pvWh - before.pvWh) / hours
    slots.push({ startMs: t, loadW: (after.gridWh - before.gridWh) / hours + pvW + batterySum / samples, pvW })
    before = after
  }
  return slots
}
