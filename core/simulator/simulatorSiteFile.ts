import { siteFileSchema, type SiteFile } from '../devices/site/siteFileSchema.ts'
import type { SimReady } from './spawnSimulator.ts'

/** What the controller needs of a simulator site file (hardware-sims format). */
export type SimulatorSite = {
  name: string
  location: { latitudeDeg: number; longitudeDeg: number; timezone: string }
  /** Each device's fields as the simulator reads them; the PV array comes from the inverter's ratedW, dcAcRatio, tiltDeg and azimuthDeg. */
  devices: ({ name: string; kind: string; transport: Record<string, unknown> } & Record<string, unknown>)[]
}

export type SimulatorSiteFileParameters = {
  sim: SimulatorSite
  /** Where the simulator's devices came up (its ready lines). */
  ready: readonly SimReady[]
  name?: string
  /** The control section beside what the simulated hardware says (location, PV array); a site file's input form. */
  control?: Record<string, unknown>
  timeoutMs?: number
  /** The simulator's control API: the site's weather forecast comes from its Open-Meteo-shaped endpoint (3 past days for the PV calibration). */
  apiUrl?: string
}

/**
 * The controller's site file for a simulated site: its devices where the simulator's ready
 * lines say they are (SunSpec over TCP), and a control section with the site's location
 * and its PV array as the simulator builds it (rated power x DC/AC ratio, tilt, azimuth).
 */
export function simulatorSiteFile(p: SimulatorSiteFileParameters): SiteFile {
  const inverter = p.sim.devices.find((d) => d.kind === 'inverter')
  return siteFileSchema.parse({
    name: p.name ?? p.sim.name,
    timezone: p.sim.location.timezone,
    devices: p.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: r.host ?? '127.0.0.1', port: r.port }, unitId: r.unitId, driver: 'sunspec', sunspecBase: r.sunspecBase, timeoutMs: p.timeoutMs ?? 2000 })),
    control: {
      location: { latitudeDeg: p.sim.location.latitudeDeg, longitudeDeg: p.sim.location.longitudeDeg },
      ...(p.apiUrl && { weather: { url: `${p.apiUrl}/api/weather/forecast?latitude=${p.sim.location.latitudeDeg}&longitude=${p.sim.location.longitudeDeg}&hourly=shortwave_radiation,cloud_cover&past_days=3&forecast_days=3` } }),
      ...(inverter && { pv: { tiltDeg: Number(inverter.tiltDeg ?? 20), azimuthDeg: Number(inverter.azimuthDeg ?? 180), peakPowerKw: (Number(inverter.ratedW ?? 0) * Number(inverter.dcAcRatio ?? 1.1)) / 1000 } }),
      ...p.control,
    },
  })
}
