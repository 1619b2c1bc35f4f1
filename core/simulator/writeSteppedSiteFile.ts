import { writeFileSync } from 'node:fs'
import { stringify } from 'yaml'
import type { SimulatorSite } from './simulatorSiteFile.ts'

/**
 * Writes a simulator site file (hardware-sims format) for a stepped run: every device on a
 * free 127.0.0.1 port, the control API on a free port, the clock paused at `startMs` (speed
 * 0: it moves only when advanced).
 */
export function writeSteppedSiteFile(path: string, site: SimulatorSite & Record<string, unknown>, startMs: number): void {
  writeFileSync(
    path,
    stringify({
      ...site,
      clock: { start: new Date(startMs).toISOString(), speed: 0 },
      api: { host: '127.0.0.1', port: 0 },
      devices: site.devices.map((d) => ({ ...d, transport: { ...d.transport, host: '127.0.0.1', port: 0 } })),
    }),
  )
}
