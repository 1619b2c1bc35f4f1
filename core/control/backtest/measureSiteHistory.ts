import { BacktestError } from './BacktestError.ts'
import { measureHistoryOnDevices, type MeasuredSlot } from '../../simulator/measureHistoryOnDevices.ts'
import { openSiteDevices, type OpenedDevices } from '../../simulator/openSiteDevices.ts'
import { simulatorSiteFile, type SimulatorSite } from '../../simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'

export type { MeasuredSlot }

export type MeasureSiteHistoryParameters = {
  /** A simulator site file whose clock starts paused at `fromMs`. */
  simSiteFile: string
  /** The site that file describes (its devices are opened through the driver registry). */
  simSite: SimulatorSite
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
  let devices: OpenedDevices | null = null
  try {
    devices = await openSiteDevices(simulatorSiteFile({ sim: parameters.simSite, ready: sim.ready }))
    const drivers = devices.drivers
    const meter = drivers.find((d) => d.meter)?.meter
    const pvs = drivers.flatMap((d) => (d.pv ? [d.pv] : []))
    const batteries = drivers.flatMap((d) => (d.battery ? [d.battery] : []))
    if (!meter) throw new BacktestError('history pass: the site has no meter')
    return await measureHistoryOnDevices({ advance: sim.advance, meter, pvs, batteries, fromMs, toMs, slotMs, sampleS })
  } finally {
    await devices?.close()
    await sim.stop()
  }
}
