// Requests per second for reads of 100 holding registers, made by the same libmodbus C client
// (test/peers/modbus_bench_client.c, one request in flight) against (a) the simulator's PV
// inverter over TCP, (b) a pymodbus server and (c) a libmodbus server, all in one run.
// The servers are measured one after another, in rounds, so they never share the 2 cores;
// each server's best round is its result.
//   node bin/run-ts.js bench/modbus-server.bench.ts [--seconds 2.5] [--rounds 3]
// Last stdout line: {"bench":"modbus-server","results":{...},"ratios":{...},"targets":{...}}
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildCPeers } from '../test/peers/buildCPeers.ts'
import { python, repoRoot, sunspecServer } from '../test/peers/paths.ts'
import { runPeer } from '../test/peers/runPeer.ts'
import { startPeer, type StartedPeer } from '../test/peers/startPeer.ts'

type Measurement = { requests: number; seconds: number; requestsPerSecond: number; errors: number; firstError: string | null }
type Target = { name: 'sim' | 'pymodbus' | 'libmodbus'; port: number; address: number; unitId: number }

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2.5' }, rounds: { type: 'string', default: '3' } } })
const seconds = Number(values.seconds)
const rounds = Number(values.rounds)
if (!(seconds > 0 && seconds <= 60) || !(Number.isInteger(rounds) && rounds >= 1 && rounds <= 10)) {
  throw new Error(`modbus-server bench: expected --seconds 0-60 and --rounds 1-10, got ${values.seconds} and ${values.rounds}`)
}
const registers = 100
const warmupS = 1 // JIT and connection set-up; the same for every server

const log = (message: string): void => {
  process.stderr.write(`modbus-server: ${message}\n`)
}

const workDir = mkdtempSync(join(tmpdir(), 'gridmesh-bench-modbus-'))
const children: StartedPeer[] = []

async function main(): Promise<void> {
  const peers = buildCPeers()
  const site = join(workDir, 'site.yaml')
  // the demo site with every port free: the benchmark measures the PV inverter's TCP server
  writeFileSync(
    site,
    `name: bench
location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: Australia/Melbourne }
clock: { speed: 1 }
load: { peakW: 7000 }
api: { host: 127.0.0.1, port: 0 }
devices:
  - { name: pv1, kind: inverter, transport: { type: tcp, host: 127.0.0.1, port: 0, unitId: 1 }, sunspecBase: 40000, ratedW: 8000 }
  - { name: bat1, kind: battery, transport: { type: tcp, host: 127.0.0.1, port: 0, unitId: 1 }, sunspecBase: 40000, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000 }
  - { name: meter1, kind: meter, transport: { type: tcp, host: 127.0.0.1, port: 0, unitId: 1 }, sunspecBase: 40000 }
`,
  )
  const sim = startPeer(process.execPath, [join(repoRoot, 'bin', 'gridmesh.js'), 'sim', '--site', site], { cwd: repoRoot })
  const pymodbus = startPeer(python, [sunspecServer, 'plain', '--port', '0', '--address', '40000', '--count', '200', '--watch-stdin'])
  const libmodbus = startPeer(peers.server, ['--port', '0', '--address', '40000', '--count', '1000', '--watch-stdin'])
  children.push(sim, pymodbus, libmodbus)

  await sim.waitForLine((line) => line.event === 'api', 60_000)
  const inverter = sim.lines.find((line) => line.event === 'ready' && line.kind === 'inverter')
  if (!inverter || inverter.transport !== 'tcp') throw new Error(`simulator: no TCP inverter ready line in ${JSON.stringify(sim.lines)}`)
  const targets: Target[] = [
    { name: 'sim', port: Number(inverter.port), address: Number(inverter.sunspecBase), unitId: Number(inverter.unitId) },
    { name: 'pymodbus', port: Number((await pymodbus.waitForLine((l) => l.event === 'ready', 15_000)).port), address: 40000, unitId: 1 },
    { name: 'libmodbus', port: Number((await libmodbus.waitForLine((l) => l.event === 'ready', 15_000)).port), address: 40000, unitId: 1 },
  ]

  const samples: Record<string, Measurement[]> = { sim: [], pymodbus: [], libmodbus: [] }
  for (let round = 1; round <= rounds; round++) {
    for (const target of targets) {
      const args = ['127.0.0.1', String(target.port), '--address', String(target.address), '--count', String(registers), '--seconds', String(seconds), '--warmup', String(warmupS), '--unit', String(target.unitId)]
      const run = await runPeer(peers.client, args, (seconds + warmupS + 15) * 1000)
      let measured: Measurement
      try {
        measured = JSON.parse(run.stdout) as Measurement
      } catch {
        throw new Error(`${target.name}: modbus_bench_client exited ${run.code}${run.timedOut ? ' (timed out)' : ''}: ${run.stdout} ${run.stderr}`)
      }
      samples[target.name]?.push(measured)
      log(`round ${round}/${rounds} ${target.name}: ${measured.requestsPerSecond} requests/s, ${measured.errors} errors${measured.firstError ? ` (${measured.firstError})` : ''}`)
    }
  }

  const best = (name: string) => {
    const list = samples[name] ?? []
    const top = list.reduce<Measurement | undefined>((a, b) => (a && a.requestsPerSecond >= b.requestsPerSecond ? a : b), undefined)
    return {
      requestsPerSecond: top?.requestsPerSecond ?? 0,
      requests: top?.requests ?? 0,
      seconds: top?.seconds ?? 0,
      errors: list.reduce((sum, m) => sum + m.errors, 0),
      rounds: list.map((m) => m.requestsPerSecond),
    }
  }
  const results = { sim: best('sim'), pymodbus: best('pymodbus'), libmodbus: best('libmodbus') }
  const ratio = (a: number, b: number) => (b > 0 ? Math.round((a / b) * 1000) / 1000 : null)
  const report = {
    bench: 'modbus-server',
    registers,
    secondsPerMeasurement: seconds,
    rounds,
    client: 'libmodbus modbus_bench_client (sequential, one request in flight)',
    results,
    ratios: {
      simOverPymodbus: ratio(results.sim.requestsPerSecond, results.pymodbus.requestsPerSecond),
      simOverLibmodbus: ratio(results.sim.requestsPerSecond, results.libmodbus.requestsPerSecond),
    },
    targets: { simOverPymodbus: '>= 1', simOverLibmodbus: '>= 0.5 (aim 0.9)' },
  }
  process.stdout.write(`${JSON.stringify(report)}\n`)
  const failed = Object.entries(results).filter(([, r]) => r.requests === 0 || r.errors > 0)
  if (failed.length) {
    log(`failed measurements: ${failed.map(([name]) => name).join(', ')}`)
    process.exitCode = 1
  }
}

try {
  await main()
} catch (error) {
  log(error instanceof Error ? error.message : String(error))
  process.exitCode = 1
} finally {
  await Promise.all(children.map((child) => child.stop()))
  rmSync(workDir, { recursive: true, force: true })
}
