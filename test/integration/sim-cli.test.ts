import { afterEach, describe, expect, it } from 'vitest'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { RawModbusTcp } from '../support/rawModbusTcp.ts'
import { runCli, spawnSim, writeSiteFile, type SpawnedSim } from '../support/spawnSim.ts'

const running: SpawnedSim[] = []
const dataDir = join(mkdtempSync(join(tmpdir(), 'gridmesh-demo-')), 'data')
afterEach(async () => {
  for (const sim of running.splice(0)) await sim.stop()
})

const site = (devices: unknown[], extra: Record<string, unknown> = {}) => ({
  name: 'cli-test',
  location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' },
  clock: { start: '2013-01-15T00:00:00Z' },
  load: { peakW: 6000 },
  api: { host: '127.0.0.1', port: 0 },
  devices,
  ...extra,
})
const meter = { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0 } }

describe('gridmesh sim (the command)', () => {
  it('prints one ready line per device, then the API line, and stops cleanly on SIGTERM', async () => {
    const sim = await spawnSim(['--site', writeSiteFile(site([meter, { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 2 }, ratedW: 4000, sunspecBase: 50000 }]))])
    expect(sim.ready).toEqual([
      { event: 'ready', device: 'meter1', kind: 'meter', transport: 'tcp', host: '127.0.0.1', port: expect.any(Number), path: null, unitId: 1, sunspecBase: 40000 },
      { event: 'ready', device: 'pv1', kind: 'inverter', transport: 'tcp', host: '127.0.0.1', port: expect.any(Number), path: null, unitId: 2, sunspecBase: 50000 },
    ])
    expect(sim.apiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const client = await RawModbusTcp.open(sim.ready[1]!.port!)
    expect(await client.readHolding(2, 50000, 2)).toEqual([0x5375, 0x6e53])
    client.close()
    expect(await sim.stop()).toBe(0)
    expect(sim.stderr()).toContain('SIGTERM: stopping')
  })

  it('refuses an invalid site file, naming each wrong field, without serving anything', async () => {
    const file = writeSiteFile(site([{ ...meter, transport: { type: 'tcp', port: 70000 } }, { name: 'bat', kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: -5, maxChargeW: 1, maxDischargeW: 1 }]))
    const { code, stdout, stderr } = await runCli(['sim', '--site', file])
    expect(code).toBe(2) // a bad input file, like a bad flag (InputError)
    expect(stdout).toBe('')
    expect(stderr).toContain(`${file}: invalid site file`)
    expect(stderr).toMatch(/devices\[0\]\.transport\.port: Too big: expected number to be <=65535, got 70000/)
    expect(stderr).toMatch(/devices\[1\]\.capacityWh: Too small: expected number to be >0, got -5/)
  })

  it('exits with a clear message when a port is in use', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()))
    const port = (blocker.address() as AddressInfo).port
    try {
      const { code, stdout, stderr } = await runCli(['sim', '--site', writeSiteFile(site([{ ...meter, transport: { type: 'tcp', port } }]))])
      expect(code).toBe(1)
      expect(stdout).toBe('')
      expect(stderr).toContain(`device 'meter1': cannot listen on 127.0.0.1:${port}: the address is already in use (EADDRINUSE)`)
    } finally {
      blocker.close()
    }
  })

  it.each([
    [['--speed', 'fast'], "sim: --speed: expected a number from 0 to 1000000, got 'fast'"],
    [['--seed', '1.5'], "sim: --seed: expected an integer from 0 to 2147483647, got '1.5'"],
    [['--start', 'yesterday'], "sim: --start: expected an ISO 8601 time such as 2013-01-15T00:00:00Z, got 'yesterday'"],
    [['--colour', 'red'], "sim: Unknown option '--colour'"],
  ])('rejects the flags %j with exit code 2', async (args, message) => {
    const { code, stderr } = await runCli(['sim', ...args])
    expect(code).toBe(2)
    expect(stderr).toContain(message)
  })

  it.each([
    [['demo', '--speed', '0'], "--speed: expected an integer from 1 to 600, got '0'"],
    [['demo', '--seed', 'x'], "--seed: expected an integer from 0 to 2147483647, got 'x'"],
  ])('demo rejects the flags %j with exit code 2 before starting anything', async (args, message) => {
    const { code, stderr } = await runCli([...args, '--data', dataDir])
    expect(code).toBe(2)
    expect(stderr).toContain(message)
    expect(existsSync(dataDir)).toBe(false) // no store was created
  })

  it('names an unknown command', async () => {
    const { code, stderr } = await runCli(['simulate'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/gridmesh: unknown command 'simulate'; expected one of: .*\bsim\b/)
  })
})
