import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createModbusClient, type ModbusClient } from '../../core/devices/modbus/createModbusClient.ts'
import { createTcpTransport } from '../../core/devices/modbus/createTcpTransport.ts'
import { discoverSunSpec, readSunSpecModels } from '../../core/devices/sunspec/readSunSpecDevice.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { python, sunspecServer } from '../peers/paths.ts'
import { startPeer, type StartedPeer } from '../peers/startPeer.ts'
import { testSite } from '../support/simSites.ts'

// Core's SunSpec discovery and decoder against an image built by an independent
// program (pymodbus, laid out by Python from the JSON definitions): base 50000,
// repeating groups (160 modules, 714 ports), a sentinel, and a model we do not decode.
let peer: StartedPeer
let client: ModbusClient

beforeAll(async () => {
  peer = startPeer(python, [sunspecServer, 'sunspec', '--port', '0', '--watch-stdin', '--models', '1,103,160,714,704,802,203', '--set', '103.TmpOt=null'])
  const ready = await peer.waitForLine((l) => l.event === 'ready', 15_000)
  client = createModbusClient(createTcpTransport({ host: '127.0.0.1', port: ready.port as number }), { timeoutMs: 2000 })
}, 30_000)
afterAll(async () => {
  await client?.close()
  await peer?.stop()
})

describe('SunSpec discovery and decoding against pymodbus', () => {
  it('finds the map at base 50000 and walks the chain', async () => {
    const discovery = await discoverSunSpec(client, 1)
    if (!discovery) throw new Error('no SunSpec map found')
    expect(discovery.base).toBe(50000)
    expect(discovery.models.map((m) => m.id)).toEqual([1, 103, 160, 714, 704, 802, 203])
  })

  it('decodes scale factors, strings, repeating groups and sentinels as the peer served them', async () => {
    const discovery = (await discoverSunSpec(client, 1))!
    const models = await readSunSpecModels(client, discovery)
    expect(models.map((m) => m.id)).toEqual([1, 103, 160, 714, 704, 802, 203])
    for (const m of models) expect(m.problem, `model ${m.id}`).toBeNull()
    const byId = new Map(models.map((m) => [m.id, m.points]))
    const described = await describePeer()
    // Every point the independent server describes decodes to the same value here.
    let compared = 0
    for (const { id, address, values } of described.models) {
      const decoded = byId.get(id)
      if (!decoded) continue
      expect(models.find((m) => m.id === id)!.address).toBe(address)
      for (const [path, value] of Object.entries(values)) {
        const got = decoded.get(path)
        expect(got, `${id}.${path}`).toBeDefined()
        const v = got!.value
        expect(typeof v === "bigint" ? Number(v) : v, `${id}.${path}`).toEqual(value)
        compared++
      }
    }
    expect(compared).toBeGreaterThan(100)
    expect(byId.get(103)!.get('TmpOt')!.value).toBeNull()
    expect(byId.get(714)!.get('Prt[1].DCW')!.value).toBe(-260)
    expect(byId.get(160)!.get('module[1].DCA')).toBeDefined()
  })
})

type Described = { models: { id: number; address: number; values: Record<string, unknown> }[] }

async function describePeer(): Promise<Described> {
  const run = startPeer(python, [sunspecServer, 'describe', '--models', '1,103,160,714,704,802,203', '--set', '103.TmpOt=null'])
  const line = await run.waitForLine((l) => 'models' in l, 15_000)
  await run.stop()
  return line as unknown as Described
}

describe('float models (113 inverter, 213 meter) against pymodbus', () => {
  it('decodes float32 points without scale factors, NaN as null', async () => {
    const args = ['--models', '1,113,213', '--set', '113.TmpOt=null']
    const floatPeer = startPeer(python, [sunspecServer, 'sunspec', '--port', '0', '--watch-stdin', ...args])
    const ready = await floatPeer.waitForLine((l) => l.event === 'ready', 15_000)
    const c = createModbusClient(createTcpTransport({ host: '127.0.0.1', port: ready.port as number }), { timeoutMs: 2000 })
    try {
      const models = await readSunSpecModels(c, (await discoverSunSpec(c, 1))!)
      const described = startPeer(python, [sunspecServer, 'describe', ...args])
      const line = (await described.waitForLine((l) => 'models' in l, 15_000)) as unknown as Described
      await described.stop()
      let compared = 0
      for (const { id, values } of line.models) {
        const decoded = models.find((m) => m.id === id)!.points
        for (const [path, value] of Object.entries(values)) {
          const got = decoded.get(path)!.value
          if (typeof value === 'number' && !Number.isInteger(value)) expect(got as number, `${id}.${path}`).toBeCloseTo(value, 3)
          else expect(typeof got === 'bigint' ? Number(got) : got, `${id}.${path}`).toEqual(value)
          compared++
        }
      }
      expect(compared).toBeGreaterThan(40)
      expect(models.find((m) => m.id === 113)!.points.get('TmpOt')!.value).toBeNull()
    } finally {
      await c.close()
      await floatPeer.stop()
    }
  })
})

describe('SunSpec discovery against the simulator', () => {
  let sim: Simulator
  beforeAll(async () => {
    sim = await startSimulator(testSite(), { log: () => {} })
  })
  afterAll(async () => {
    await sim.close()
  })

  it('reads every device of the demo site with values that match its physics', async () => {
    const clients = sim.ready.map((r) => createModbusClient(createTcpTransport({ host: '127.0.0.1', port: r.port! })))
    try {
      const [pv, bat, meter] = await Promise.all(clients.map(async (c) => readSunSpecModels(c, (await discoverSunSpec(c, 1))!)))
      const point = (models: typeof pv, id: number, path: string) => models!.find((m) => m.id === id)!.points.get(path)!.value
      expect(point(pv, 1, 'Mn')).toBe('GridMesh')
      expect(point(pv, 103, 'W')).toBe(Math.round(sim.physics.inverters[0]!.powerW))
      expect(point(pv, 103, 'Hz')).toBeCloseTo(50, 0)
      expect(point(bat, 802, 'SoC')).toBeCloseTo(50, 1)
      expect(point(bat, 124, 'VAChaMax')).toBeNull() // not implemented by the simulated battery
      expect(point(meter, 203, 'W')).toBe(Math.round(sim.physics.gridW))
      for (const models of [pv!, bat!, meter!]) for (const m of models) expect(m.problem, `model ${m.id}`).toBeNull()
    } finally {
      await Promise.all(clients.map((c) => c.close()))
    }
  })
})
