import type { SiteConfig } from '../../hardware-sims/site/siteSchema.ts'
import { siteSchema } from '../../hardware-sims/site/siteSchema.ts'

/** The demo site's devices on free ports (port 0), paused at a fixed start, for tests. */
export function testSite(overrides: { start?: string; devices?: unknown[] } = {}): SiteConfig {
  return siteSchema.parse({
    name: 'test',
    location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' },
    clock: { start: overrides.start ?? '2013-01-15T02:00:00Z', speed: 0 }, // 13:00 local, summer
    load: { peakW: 7000 },
    api: { host: '127.0.0.1', port: 0 },
    devices: overrides.devices ?? [
      { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 1 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0, commandTimeoutS: 60 },
      {
        name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0, unitId: 1 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000,
        chargeEfficiency: 0.95, dischargeEfficiency: 0.95, socMinPct: 5, socMaxPct: 100, initialSocPct: 50, commandTimeoutS: 60,
      },
      { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } },
    ],
  })
}
