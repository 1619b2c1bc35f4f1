// Client requests/s for reads of 100 holding registers on loopback: GridMesh's client
// (core/devices/modbus) against the libmodbus C client (test/peers/modbus_bench_client.c),
// both against the same servers (a libmodbus server and a pymodbus server), in
// alternating rounds so they never share the 2 cores; modbus-serial's client is measured
// alongside. Then the time to scan 1 host x 10 ports
// x 247 unit IDs of a simulated site.
//   node bin/run-ts.js bench/modbus-client.bench.ts [--seconds 2.5] [--rounds 3]
import { parseArgs } from 'node:util'
import { createServer, type AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { createModbusClient } from '../core/devices/modbus/createModbusClient.ts'
import { createTcpTransport } from '../core/devices/modbus/createTcpTransport.ts'
import { scanDevices } from '../core/devices/scan/scanDevices.ts'
import { startSimulator } from '../hardware-sims/startSimulator.ts'
import { siteSchema } from '../hardware-sims/site/siteSchema.ts'
import { buildCPeers } from '../test/peers/buildCPeers.ts'
import { python, sunspecServer } from '../test/peers/paths.ts'
import { runPeer } from '../test/peers/runPeer.ts'
import { startPeer, type StartedPeer } from '../test/peers/startPeer.ts'

// modbus-serial is CommonJS (module.exports = the class); its typings declare a default export.
const ModbusRTU = createRequire(import.meta.url)('modbus-serial') as typeof import('modbus-serial').default

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2.5' }, rounds: { type: 'string', default: '3' } } })
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
const log = (m: string) => process.stderr.write(`modbus-client: ${m}\n`)
const children: StartedPeer[] = []

async function ours(port: number): Promise<number> {
  const client = createModbusClient(createTcpTransport({ host: '127.0.0.1', port }), { timeoutMs: 2000, retries: 0 })
  try {
    const warm = performance.now()
    while (performance.now() - warm < 1000) await client.readHoldingRegisters(1, 40000, 100)
    let n = 0
    const t0 = performance.now()
    while (performance.now() - t0 < seconds * 1000) {
      await client.readHoldingRegisters(1, 40000, 100)
      n++
    }
    return n / ((performance.now() - t0) / 1000)
  } finally {
    await client.close()
  }
}

async function modbusSerial(port: number): Promise<number> {
  const client = new ModbusRTU()
  await client.connectTCP('127.0.0.1', { port })
  client.setID(1)
  client.setTimeout(2000)
  try {
    const warm = performance.now()
    while (performance.now() - warm < 1000) await client.readHoldingRegisters(40000, 100)
    let n = 0
    const t0 = performance.now()
    while (performance.now() - t0 < seconds * 1000) {
      await client.readHoldingRegisters(40000, 100)
      n++
    }
    return n / ((performance.now() - t0) / 1000)
  } finally {
    await new Promise<void>((r) => client.close(() => r()))
  }
}

async function libmodbus(clientPath: string, port: number): Promise<number> {
  const run = await runPeer(clientPath, ['127.0.0.1', String(port), '--address', '40000', '--count', '100', '--seconds', String(seconds), '--warmup', '1'], (seconds + 20) * 1000)
  const m = JSON.parse(run.stdout) as { requestsPerSecond: number; errors: number }
  if (m.errors) throw new Error(`libmodbus client: ${m.errors} errors`)
  return m.requestsPerSecond
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((r) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => r(s))
  })))
  const ports = servers.map((s) => (s.address() as AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
  return ports
}

async function main() {
  const peers = buildCPeers()
  const lib = startPeer(peers.server, ['--port', '0', '--address', '40000', '--count', '1000', '--watch-stdin'])
  const py = startPeer(python, [sunspecServer, 'plain', '--port', '0', '--address', '40000', '--count', '200', '--watch-stdin'])
  children.push(lib, py)
  const servers = {
    libmodbus: Number((await lib.waitForLine((l) => l.event === 'ready', 15_000)).port),
    pymodbus: Number((await py.waitForLine((l) => l.event === 'ready', 15_000)).port),
  }
  const samples: Record<string, number[]> = {}
  const add = (key: string, v: number) => (samples[key] ??= []).push(Math.round(v))
  for (let round = 1; round <= rounds; round++) {
    for (const [server, port] of Object.entries(servers)) {
      add(`${server}.libmodbusClient`, await libmodbus(peers.client, port))
      add(`${server}.gridmesh`, await ours(port))
      add(`${server}.modbusSerial`, await modbusSerial(port))
      log(`round ${round}/${rounds} vs ${server}: libmodbus ${samples[`${server}.libmodbusClient`]!.at(-1)}, gridmesh ${samples[`${server}.gridmesh`]!.at(-1)}, modbus-serial ${samples[`${server}.modbusSerial`]!.at(-1)} requests/s`)
    }
  }
  const best = (key: string) => Math.max(...samples[key]!)
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000

  // Scan: one host, ten ports (a device on each, unit 1), unit IDs 1-247 on every port.
  const ports = await freePorts(10)
  const site = siteSchema.parse({
    name: 'scan-bench',
    location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' },
    clock: { start: '2013-01-15T02:00:00Z', speed: 0 },
    load: { peakW: 7000 },
    api: { host: '127.0.0.1', port: 0 },
    devices: ports.map((port, i) =>
      i % 3 === 2
        ? { name: `meter${i}`, kind: 'meter', transport: { type: 'tcp', port, unitId: 1 } }
        : { name: `pv${i}`, kind: 'inverter', transport: { type: 'tcp', port, unitId: 1 }, ratedW: 5000 },
    ).filter((d, i) => d.kind !== 'meter' || i === 2),
  })
  const sim = await startSimulator(site, { log: () => {} })
  const scan = await scanDevices({ targets: ports.map((port) => ({ connection: { type: 'tcp', host: '127.0.0.1', port }, unitIds: Array.from({ length: 247 }, (_, i) => i + 1) })), timeoutMs: 150 })
  await sim.close()

  const results = {
    libmodbusServer: { libmodbusClient: best('libmodbus.libmodbusClient'), gridmesh: best('libmodbus.gridmesh'), modbusSerial: best('libmodbus.modbusSerial'), rounds: samples },
    pymodbusServer: { libmodbusClient: best('pymodbus.libmodbusClient'), gridmesh: best('pymodbus.gridmesh'), modbusSerial: best('pymodbus.modbusSerial') },
    scan: { hosts: 1, ports: 10, unitIds: 247, requests: 10 * 247, devicesFound: scan.devices.length, seconds: Math.round(scan.durationMs) / 1000, absentUnits: 'answered by the gateway with exception 0x0B' },
  }
  const report = {
    bench: 'modbus-client',
    registers: 100,
    secondsPerMeasurement: seconds,
    rounds,
    results,
    ratios: {
      gridmeshOverLibmodbusClient_libmodbusServer: ratio(results.libmodbusServer.gridmesh, results.libmodbusServer.libmodbusClient),
      gridmeshOverLibmodbusClient_pymodbusServer: ratio(results.pymodbusServer.gridmesh, results.pymodbusServer.libmodbusClient),
      modbusSerialOverLibmodbusClient_libmodbusServer: ratio(results.libmodbusServer.modbusSerial, results.libmodbusServer.libmodbusClient),
    },
    targets: { gridmeshOverLibmodbusClient_libmodbusServer: '>= 0.8', scanSeconds: 'report' },
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
}

try {
  await main()
} catch (error) {
  log(error instanceof Error ? error.stack ?? error.message : String(error))
  process.exitCode = 1
} finally {
  await Promise.all(children.map((c) => c.stop()))
}
