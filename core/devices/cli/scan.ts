import { parseFlags, parseIntegerFlag, parseIntegerList } from '../../cli/parseFlags.ts'
import { UsageError } from '../../errors/BaseError.ts'
import type { Connection } from '../modbus/createConnectionPool.ts'
import { scanDevices, type ScanResult } from '../scan/scanDevices.ts'
import { writeSiteFile } from '../site/loadSiteFile.ts'
import type { SiteFile } from '../site/siteFileSchema.ts'

const help = `usage: gridmesh scan --host HOST[,HOST...] [--ports A-B] [--units 1-247] [--timeout-ms N] [--json] [--site-out FILE]
       gridmesh scan --serial PATH [--baud N] [--parity none|even|odd] [--units 1-247] ...

Finds Modbus devices, identifies SunSpec maps (bases 40000, 50000, 0), and prints an
inventory: device, transport, address, unit, models, manufacturer, model, serial and
key readings with units. Progress goes to stderr.

  --host H         host(s) to scan over Modbus TCP (loopback or your site's network)
  --ports A-B      TCP ports (default 502)
  --serial PATH    a serial line (Modbus RTU) instead of TCP
  --baud N         serial speed (default 9600)
  --units LIST     unit IDs, e.g. 1-247 or 1,2,100 (default 1-247)
  --timeout-ms N   per-request timeout; absent units cost this once (default 150)
  --json           print the inventory as JSON
  --site-out FILE  write a site file of the devices found (for gridmesh read/commission)
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('scan', argv, {
    host: { type: 'string' }, ports: { type: 'string' }, units: { type: 'string' }, serial: { type: 'string' }, baud: { type: 'string' },
    parity: { type: 'string' }, 'timeout-ms': { type: 'string' }, json: { type: 'boolean' }, 'site-out': { type: 'string' }, help: { type: 'boolean', short: 'h' },
  }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.host === !flags.serial) throw new UsageError(`scan: give either --host or --serial\n\n${help}`)
  const unitIds = parseIntegerList('units', flags.units ?? '1-247', 0, 255)
  const timeoutMs = parseIntegerFlag('timeout-ms', flags['timeout-ms'], 10, 30_000, 150)
  let connections: Connection[]
  if (flags.host) {
    const hosts = flags.host.split(',').map((h) => h.trim())
    if (hosts.some((h) => !/^[A-Za-z0-9.:-]+$/.test(h))) throw new UsageError(`--host: expected host names or addresses separated by commas, got '${flags.host}'`)
    const ports = parseIntegerList('ports', flags.ports ?? '502', 1, 65535)
    connections = hosts.flatMap((host) => ports.map((port): Connection => ({ type: 'tcp', host, port })))
  } else {
    const parity = flags.parity ?? 'none'
    if (parity !== 'none' && parity !== 'even' && parity !== 'odd') throw new UsageError(`--parity: expected none, even or odd, got '${parity}'`)
    connections = [{ type: 'rtu', path: flags.serial!, baudRate: parseIntegerFlag('baud', flags.baud, 1200, 921_600, 9600), parity }]
  }
  const result = await scanDevices({
    targets: connections.map((connection) => ({ connection, unitIds })),
    timeoutMs,
    onProgress: (m) => process.stderr.write(`${m}\n`),
  })
  process.stderr.write(`scan: ${result.devices.length} device(s) on ${result.endpoints.filter((e) => e.unitsFound).length} endpoint(s) in ${(result.durationMs / 1000).toFixed(2)} s\n`)
  if (flags['site-out']) {
    writeSiteFile(flags['site-out'], siteFromScan(result), `# Written by gridmesh scan on ${new Date().toISOString()}; edit the names to taste.\n`)
    process.stderr.write(`scan: wrote ${flags['site-out']}\n`)
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
  else process.stdout.write(formatTable(result))
  return 0
}

/** A site file for the identified devices, which read/commission accept. */
export function siteFromScan(result: ScanResult): SiteFile {
  const identified = result.devices.filter((d) => d.driver !== null)
  return {
    name: 'scanned-site',
    devices: identified.map((d) => ({
      name: d.device,
      connection: d.connection.type === 'tcp'
        ? { type: 'tcp' as const, host: d.connection.host, port: d.connection.port }
        : { type: 'rtu' as const, path: d.connection.path, baudRate: d.connection.baudRate, parity: d.connection.parity ?? 'none', stopBits: d.connection.stopBits ?? 1 },
      unitId: d.unitId,
      driver: d.driver!,
      ...(d.sunspecBase !== null && { sunspecBase: d.sunspecBase as 0 | 40000 | 50000 }),
      timeoutMs: 1000,
      pollIntervalMs: 1000,
    })),
  }
}

function formatTable(result: ScanResult): string {
  if (!result.devices.length) return 'no devices found\n'
  const rows = result.devices.map((d) => [
    d.device, d.address, String(d.unitId), d.driver === 'sunspec' ? `sunspec@${d.sunspecBase} [${d.models.join(',')}]` : d.driver ?? '-',
    [d.manufacturer, d.model, d.serialNumber].filter(Boolean).join(' / '),
    d.readings.filter((r) => r.value !== null).map((r) => `${r.name}=${r.value} ${r.units}`).join(', ') || (d.problem ?? ''),
  ])
  const head = ['device', 'address', 'unit', 'map', 'identity', 'readings']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  return [head, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n'
}
