import { stringify } from 'yaml'
import { siteFromScan } from '../../devices/cli/scan.ts'
import { scanDevices } from '../../devices/scan/scanDevices.ts'
import { siteFileSchema } from '../../devices/site/siteFileSchema.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import type { ScanCommand, ScanCommandResult } from '../contract.ts'

let running = false

/**
 * The installer's scan: one host, a bounded port and unit range (the contract caps the
 * probes, so a request cannot scan for long), the devices found and the site file for
 * them as YAML text to edit and commission. One scan at a time per server.
 */
export async function runScan(command: ScanCommand): Promise<ScanCommandResult> {
  if (running) throw new ApiRequestError(409, 'scan: another scan is running; wait for it to finish')
  running = true
  try {
    const [fromPort, toPort] = command.ports
    const [fromUnit, toUnit] = command.units
    const unitIds = Array.from({ length: toUnit - fromUnit + 1 }, (_, i) => fromUnit + i)
    const result = await scanDevices({
      targets: Array.from({ length: toPort - fromPort + 1 }, (_, i) => ({ connection: { type: 'tcp' as const, host: command.host, port: fromPort + i }, unitIds })),
      timeoutMs: command.timeoutMs ?? 150,
    })
    const site = siteFileSchema.parse(siteFromScan(result))
    const header = `# Written by the GridMesh HMI scan of ${command.host} ports ${fromPort}-${toPort} units ${fromUnit}-${toUnit} on ${new Date().toISOString()}; edit the names to taste.\n`
    return { type: 'scan', result, site, siteYaml: header + stringify(site) }
  } finally {
    running = false
  }
}
