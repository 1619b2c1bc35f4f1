import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { runCli } from '../support/spawnSim.ts'
import { testSite } from '../support/simSites.ts'
import { openPtyPair } from '../support/ptyPair.ts'

// scan -> site file -> read -> commission, as an installer runs them, against a
// simulated site behind one gateway port (inverter unit 1, battery 2, meter 3).
let sim: Simulator
let port: number
const dir = mkdtempSync(join(tmpdir(), 'gridmesh-commission-'))
const siteFile = join(dir, 'site.yaml')

beforeAll(async () => {
  port = await new Promise<number>((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as AddressInfo).port
      s.close(() => resolve(p))
    })
  })
  const site = testSite({
    devices: [
      { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port, unitId: 1 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0 },
      { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port, unitId: 2 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000 },
      { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port, unitId: 3 }, sunspecBase: 50000 },
    ],
  })
  sim = await startSimulator(site, { log: () => {}, speed: 1 })
})
afterAll(async () => {
  await sim?.close()
})

describe('installer commands', () => {
  it('scans the gateway, identifies every SunSpec device and writes a site file', async () => {
    const { code, stdout, stderr } = await runCli(['scan', '--host', '127.0.0.1', '--ports', String(port), '--units', '1-6', '--json', '--site-out', siteFile])
    expect(code, stderr).toBe(0)
    const result = JSON.parse(stdout) as { devices: { kind: string; unitId: number; sunspecBase: number; models: number[]; manufacturer: string; serialNumber: string; readings: { name: string; value: number; units: string }[] }[]; endpoints: { unitsProbed: number }[] }
    expect(result.devices.map((d) => [d.kind, d.unitId, d.sunspecBase])).toEqual([['inverter', 1, 40000], ['battery', 2, 40000], ['meter', 3, 50000]])
    expect(result.devices[1]!.models).toEqual([1, 103, 120, 124, 704, 713, 802])
    expect(result.devices[2]!.serialNumber).toBe('SIM-METER1')
    expect(result.devices[1]!.readings.find((r) => r.name === 'socPct')).toMatchObject({ units: '%', value: expect.any(Number) })
    expect(result.endpoints[0]!.unitsProbed).toBe(6)
    expect(stderr).toMatch(/scan: 3 device\(s\) on 1 endpoint\(s\) in \d+\.\d\d s/)
    expect(readFileSync(siteFile, 'utf8')).toContain('driver: sunspec')
  })

  it('reads one device of the scanned site file', async () => {
    const { code, stdout } = await runCli(['read', '--site', siteFile, '--device', `meter-${port}-3`, '--json'])
    expect(code).toBe(0)
    const read = JSON.parse(stdout) as { capabilities: string[]; points: { name: string; value: unknown; units: string | null }[] }
    expect(read.capabilities).toEqual(['meter'])
    expect(read.points.find((p) => p.name === '203.Hz')).toMatchObject({ units: 'Hz' })
  })

  it('commissions the site: plausibility, verified and reverted test writes, an HTML and JSON report', { timeout: 60_000 }, async () => {
    const out = join(dir, 'report')
    const { code, stderr } = await runCli(['commission', '--site', siteFile, '--out', out, '--observe-ms', '4000'], 60_000)
    const report = JSON.parse(readFileSync(join(out, 'commissioning-report.json'), 'utf8')) as {
      status: string
      siteChecks: { name: string; status: string }[]
      devices: { name: string; checks: { status: string }[]; testWrites: { capability: string; status: string; revert: { verified: boolean } }[] }[]
    }
    expect(code, stderr).toBe(0)
    expect(report.status).toBe('pass')
    expect(report.siteChecks[0]).toMatchObject({ name: 'power balance', status: 'pass' })
    const writes = report.devices.flatMap((d) => d.testWrites)
    expect(writes.map((w) => [w.capability, w.status, w.revert.verified])).toEqual([['pv', 'pass', true], ['battery', 'pass', true]])
    expect(existsSync(join(out, 'commissioning-report.html'))).toBe(true)
    expect(readFileSync(join(out, 'commissioning-report.html'), 'utf8')).toContain('Commissioning report: scanned-site')
    // Everything the test writes changed was handed back.
    expect(sim.physics.batteries[0]!.setpointW).toBeNull()
    expect(sim.physics.inverters[0]!.limitPct).toBeNull()
  })

  it('identifies a non-SunSpec device by its profile in a scan, and reads it through that profile', async () => {
    const profiled = await startSimulator(testSite({ devices: [{ name: 'sdm', kind: 'meter', profile: 'eastron-sdm630', transport: { type: 'tcp', port: 0, unitId: 1 } }] }), { log: () => {} })
    try {
      const file = join(dir, 'profile-site.yaml')
      const scan = await runCli(['scan', '--host', '127.0.0.1', '--ports', String(profiled.ready[0]!.port), '--units', '1-2', '--json', '--site-out', file])
      expect(scan.code, scan.stderr).toBe(0)
      const found = (JSON.parse(scan.stdout) as { devices: { kind: string; driver: string; manufacturer: string; readings: { name: string; value: number }[] }[] }).devices
      expect(found.map((d) => [d.kind, d.driver])).toEqual([['meter', 'profile:eastron-sdm630']])
      expect(found[0]!.readings.find((r) => r.name === 'frequencyHz')!.value).toBeCloseTo(50, 0)
      writeFileSync(file, readFileSync(file, 'utf8').replace(/name: meter-\d+-1/, 'name: grid'))
      const { code, stdout, stderr } = await runCli(['read', '--site', file, '--device', 'grid', '--json'])
      expect(code, stderr).toBe(0)
      const read = JSON.parse(stdout) as { driver: string; capabilities: string[]; points: { name: string; value: number | null }[] }
      expect(read.driver).toBe('eastron-sdm630')
      expect(read.capabilities).toEqual(['meter'])
      expect(read.points.length).toBeGreaterThan(3)
      const unknown = await runCli(['read', '--site', file.replace('profile-site', 'nope'), '--device', 'grid'])
      expect(unknown.code).toBe(2) // an unreadable site file is bad input (InputError)
    } finally {
      await profiled.close()
    }
  })

  it('scans a serial line (RTU over a socat pty pair): absent units time out, the meter is found', async () => {
    const pty = await openPtyPair()
    const rtu = await startSimulator(testSite({ devices: [{ name: 'm', kind: 'meter', transport: { type: 'rtu', path: pty.a, baudRate: 19200, unitId: 3 } }] }), { log: () => {} })
    try {
      const { code, stdout, stderr } = await runCli(['scan', '--serial', pty.b, '--baud', '19200', '--units', '1-4', '--timeout-ms', '150', '--json'])
      expect(code, stderr).toBe(0)
      const result = JSON.parse(stdout) as { devices: { kind: string; unitId: number; transport: string; driver: string }[]; endpoints: { unitsProbed: number }[] }
      expect(result.devices.map((d) => [d.kind, d.unitId, d.transport, d.driver])).toEqual([['meter', 3, 'rtu', 'sunspec']])
      expect(result.endpoints[0]!.unitsProbed).toBe(4)
    } finally {
      await rtu.close()
      pty.close()
    }
  })

  it('refuses bad flags and bad site files with messages that say what and where', async () => {
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'name: x\ndevices:\n  - name: m\n    connection: { type: tcp, host: 127.0.0.1, port: 0 }\n    driver: modbus\n')
    const cases: [string[], number, RegExp][] = [
      [['read', '--site', siteFile, '--device', 'nope'], 2, /read: --device: no device 'nope' in .*; devices: inverter-\d+-1, battery-\d+-2, meter-\d+-3/],
      [['read', '--site', bad, '--device', 'm'], 2, /bad\.yaml: invalid site file[\s\S]*devices\[0\]\.connection\.port: Too small[\s\S]*devices\[0\]\.driver: 'sunspec' or 'profile:<id>'/],
      [['scan', '--host', '127.0.0.1', '--ports', '70000'], 2, /--ports: expected a number or range within 1-65535/],
      [['scan', '--ports', '502'], 2, /scan: give either --host or --serial/],
      [['commission'], 2, /commission: --site is required/],
    ]
    for (const [args, code, message] of cases) {
      const run = await runCli(args)
      expect(run.code, args.join(' ')).toBe(code)
      expect(run.stderr).toMatch(message)
    }
  })
})
