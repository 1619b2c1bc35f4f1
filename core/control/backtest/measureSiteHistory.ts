import type { BatteryControl, Meter, PvInverter } from '../../devices/capabilities.ts'
import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { BacktestError } from './backtestError.ts'
import { spawnSimulator } from './spawnSimulator.ts'

export type MeasuredSlot = { startMs: number; loadW: number; pvW: number }

export type MeasureSiteHistoryParameters = {
  /** A simulator site file whose clock starts paused at `fromMs`. */
  simSiteFile: string
  seed: number
  fromMs: number
  toMs: number
  slotMs: number
  /** Battery power is sampled this often (simulated seconds, default 180: within ~1 % of the loop's 30 s samples at a fifth of the round trips); grid and PV come from energy counters. */
  sampleS?: number
}

/**
 * The site's past as its meters saw it: steps the simulator's clock with nobody commanding the
 * battery (it runs its own self-consumption fallback) and reads the meter and PV energy counters
 * once a slot and the battery power every `sampleS`, over Modbus. Load = grid + PV + battery.
 * Much faster than running the control loop, which needs a cycle every 30 s.
 */
export async function measureSiteHistory(parameters: MeasureSiteHistoryParameters): Promise<MeasuredSlot[]> {
  const { fromMs, toMs, slotMs } = parameters
  const sampleS = parameters.sampleS ?? 180
  const sim = await spawnSimulator(parameters.simSiteFile, parameters.seed)
  const pool = createConnectionPool({ timeoutMs: 2000, retries: 1 })
  try {
    const drivers = []
    for (const r of sim.ready) drivers.push(await createSunSpecDriver({ name: r.device, client: pool.get({ type: 'tcp', host: '127.0.0.1', port: r.port! }), unitId: r.unitId }))
    const meter = drivers.find((d) => d.meter)?.meter
    const pvs = drivers.flatMap((d) => (d.pv ? [d.pv] : []))
    const batteries = drivers.flatMap((d) => (d.battery ? [d.battery] : []))
    if (!meter) throw new BacktestError('history pass: the site has no meter')
    return await measureHistoryOnDevices({ advance: sim.advance, meter, pvs, batteries, fromMs, toMs, slotMs, sampleS })
  } finally {
    await pool.close()
    await sim.stop()
  }
}

export type MeasureHistoryOnDevicesParameters = {
  /** steps the simulator clock by this many simulated seconds */
  advance: (seconds: number) => Promise<unknown>
  meter: Meter
  pvs: PvInverter[]
  batteries: BatteryControl[]
  fromMs: number
  toMs: number
  slotMs: number
  /** battery power sample, simulated seconds; must divide the slot */
  sampleS: number
}

/**
 * The history pass on devices that are already open: per slot, steps the clock in `sampleS`
 * steps reading the battery power, and the meter and PV energy counters at the slot's end.
 * Load = grid + PV + battery.
 */
export async function measureHistoryOnDevices(p: MeasureHistoryOnDevicesParameters): Promise<MeasuredSlot[]> {
  const samples = p.slotMs / (p.sampleS * 1000)
  if (!Number.isInteger(samples)) throw new BacktestError(`history pass: a ${p.sampleS} s sample does not divide the slot`)
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
      await p.advance(p.sampleS)
      for (const b of p.batteries) batterySum += (await b.readBattery()).powerW ?? 0
    }
    const after = await counters()
    const pvW = (after.pvWh - before.pvWh) / hours
    slots.push({ startMs: t, loadW: (after.gridWh - before.gridWh) / hours + pvW + batterySum / samples, pvW })
    before = after
  }
  return slots
}
