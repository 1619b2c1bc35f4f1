import { parseFlags } from '../../cli/parseFlags.ts'
import { UsageError } from '../../errors/BaseError.ts'
import { createDeviceDriver } from '../createDeviceDriver.ts'
import { createConnectionPool } from '../modbus/createConnectionPool.ts'
import { loadSiteFile } from '../site/loadSiteFile.ts'

const help = `usage: gridmesh read --site FILE --device NAME [--json]

Reads every point of one device of a site file once (for debugging).
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('read', argv, { site: { type: 'string' }, device: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.site || !flags.device) throw new UsageError(`read: --site and --device are required\n\n${help}`)
  const site = loadSiteFile(flags.site)
  const device = site.devices.find((d) => d.name === flags.device)
  if (!device) throw new UsageError(`read: --device: no device '${flags.device}' in ${flags.site}; devices: ${site.devices.map((d) => d.name).join(', ')}`)
  const pool = createConnectionPool({ timeoutMs: device.timeoutMs })
  try {
    const driver = await createDeviceDriver(device, pool)
    const points = await driver.readAll()
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ device: device.name, driver: driver.driver, identity: driver.identity, capabilities: driver.capabilities, points }, null, 2)}\n`)
    } else {
      const width = Math.max(...points.map((p) => p.name.length))
      process.stdout.write(`${device.name} (${driver.driver}; ${[driver.identity.manufacturer, driver.identity.model, driver.identity.serialNumber].filter(Boolean).join(' / ')})\n`)
      for (const p of points) process.stdout.write(`  ${p.name.padEnd(width)}  ${p.value === null ? '(not implemented)' : String(p.value)}${p.units && p.value !== null ? ` ${p.units}` : ''}\n`)
    }
    return 0
  } finally {
    await pool.close()
  }
}
