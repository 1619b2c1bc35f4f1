import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { writeSteppedSiteFile } from '../../simulator/writeSteppedSiteFile.ts'
import type { DemoHardware } from './chooseDemoHardware.ts'
import { DemoSiteError } from './DemoSiteError.ts'

const templateFile = fileURLToPath(new URL('../../../hardware-sims/sites/demo.yaml', import.meta.url))

/** The parts of a simulator site file the demo reads and varies (hardware-sims format). */
export type DemoSiteTemplate = {
  name: string
  location: { latitudeDeg: number; longitudeDeg: number; timezone: string }
  load: { peakW: number }
  devices: ({ name: string; kind: string; transport: Record<string, unknown> } & Record<string, unknown>)[]
} & Record<string, unknown>

/** The bundled demo site (hardware-sims/sites/demo.yaml) every demo site varies. */
export function readDemoSiteTemplate(): DemoSiteTemplate {
  try {
    return parse(readFileSync(templateFile, 'utf8')) as DemoSiteTemplate
  } catch (cause) {
    throw new DemoSiteError(`${templateFile}: cannot read the demo site file: ${(cause as Error).message}`, { cause })
  }
}

export type WriteDemoSiteFileParameters = {
  path: string
  siteId: number
  hardware: DemoHardware
  /** where the simulated clock starts, paused (speed 0: it moves only when advanced) */
  startMs: number
}

/** Writes a simulator site file for one demo site (its hardware, free 127.0.0.1 ports, its own API port, a paused clock) and returns the site it describes. */
export function writeDemoSiteFile({ path, siteId, hardware, startMs }: WriteDemoSiteFileParameters): DemoSiteTemplate {
  const template = readDemoSiteTemplate()
  const site: DemoSiteTemplate = {
    ...template,
    name: `demo-site-${siteId}`,
    load: { ...template.load, peakW: hardware.loadPeakW },
    devices: template.devices.map((d) => ({
      ...d,
      ...(d.kind === 'inverter' && { ratedW: hardware.pvRatedW }),
      ...(d.kind === 'battery' && {
        capacityWh: hardware.batteryCapacityWh,
        maxChargeW: hardware.batteryMaxW,
        maxDischargeW: hardware.batteryMaxW,
        initialSocPct: hardware.initialSocPct,
      }),
    })),
  }
  writeSteppedSiteFile(path, site, startMs)
  return site
}
