import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseYamlText } from '../devices/site/parseYamlText.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { simulatorSiteFile, type SimulatorSite } from '../simulator/simulatorSiteFile.ts'
import type { SimReady } from '../simulator/spawnSimulator.ts'

/** The simulator's site file of the demo microgrid (hardware-sims format). */
export const demoSimSite = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))

/** The controller's lowest SoC on the demo site. */
export const demoSocMinPct = 10

/** The controller's view of a demo site: the simulator's devices where they came up, and how the site is run (its location and PV array from the simulator's site file, demo.yaml unless `sim` is another, e.g. a market peer's; its weather from the simulator's endpoint when `apiUrl` is given). */
export function demoSiteFile(ready: readonly SimReady[], apiUrl?: string, sim: SimulatorSite = parseYamlText(readFileSync(demoSimSite, 'utf8')) as SimulatorSite): SiteFile {
  return simulatorSiteFile({ sim, ready, timeoutMs: 1000, ...(apiUrl && { apiUrl }), control: { battery: { socMinPct: demoSocMinPct, socMaxPct: 95, targetEndSocPct: 30 } } })
}
