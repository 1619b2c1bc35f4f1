import { createConnectionPool } from '../../devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../devices/sunspec/createSunSpecDriver.ts'
import { BacktestError } from './backtestError.ts'
import { measureHistoryOnDevices, type MeasuredSlot } from '../../simulator/measureHistoryOnDevices.ts'
import { spawnSimulator } from '../../simulator/spawnSimulator.ts'

export type { MeasuredSlot }

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
