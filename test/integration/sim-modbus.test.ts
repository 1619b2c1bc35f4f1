import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { connect, createServer, type AddressInfo } from 'node:net'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { layoutModel } from '../../core/devices/sunspec/layoutModel.ts'
import { RawModbusTcp } from '../support/rawModbusTcp.ts'
import { testSite } from '../support/simSites.ts'

let sim: Simulator
const clients: RawModbusTcp[] = []
const quiet = () => {}

const portOf = (name: string) => sim.ready.find((r) => r.device === name)!.port!
const open = async (name: string) => {
  const client = await RawModbusTcp.open(portOf(name))
  clients.push(client)
  return client
}
const image = (name: string) => sim.devices.get(name)!.device.image
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(sim.apiUrl + path, { method, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}
const readPoint = async (client: RawModbusTcp, name: string, model: number, path: string) => {
  const img = image(name)
  const laid = layoutModel(model).byPath.get(path)!
  const words = await client.readHolding(1, img.addressOf(model, path), laid.registers)
  const sfPath = laid.sfPath
  const raw = laid.definition.type.startsWith('int') ? (words[0]! >= 0x8000 ? words[0]! - 0x10000 : words[0]!) : words[0]!
  if (laid.registers === 2) {
    const v = words[0]! * 65536 + words[1]!
    return laid.definition.type === 'int32' && v >= 2 ** 31 ? v - 2 ** 32 : v
  }
  if (!sfPath) return raw
  const [sfWord] = await client.readHolding(1, img.addressOf(model, sfPath), 1)
  const sf = sfWord! >= 0x8000 ? sfWord! - 0x10000 : sfWord!
  return raw * 10 ** sf
}
const s16 = (v: number) => [(v & 0xffff)]
const s32 = (v: number) => [((v >>> 16) & 0xffff), v & 0xffff]

beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: quiet, tickMs: 20 })
})
afterEach(async () => {
  for (const c of clients.splice(0)) c.close()
  for (const name of sim.devices.keys()) await api('DELETE', `/api/devices/${name}/faults`)
})
afterAll(async () => {
  await sim.close()
})

describe('simulator over Modbus TCP', () => {
  it('serves SunS at the base and a model chain ending in 0xFFFF for every device', async () => {
    for (const [name, models] of [['pv1', [1, 103, 120, 121, 122, 123]], ['bat1', [1, 103, 120, 124, 704, 713, 802]], ['meter1', [1, 203]]] as const) {
      const client = await open(name)
      expect(await client.readHolding(1, 40000, 2)).toEqual([0x5375, 0x6e53])
      const found: number[] = []
      let address = 40002
      for (;;) {
        const [id, length] = await client.readHolding(1, address, 2)
        if (id === 0xffff) break
        expect(length).toBe(layoutModel(id!).length)
        found.push(id!)
        address += 2 + length!
      }
      expect(found).toEqual(models)
    }
  })

  it('answers Illegal Function, Illegal Data Address and Illegal Data Value', async () => {
    const client = await open('pv1')
    expect([...(await client.request(1, [0x05, 0x9c, 0x40, 0xff, 0x00]))!]).toEqual([0x85, 0x01])
    expect([...(await client.request(1, [0x2b, 0x0e, 0x01, 0x00]))!]).toEqual([0xab, 0x01])
    expect([...(await client.request(1, [0x03, 0x00, 0x00, 0x00, 0x01]))!]).toEqual([0x83, 0x02]) // below the base
    expect([...(await client.request(1, [0x03, 0x9c, 0x40, 0x00, 0x7e]))!]).toEqual([0x83, 0x03]) // 126 registers
    expect([...(await client.request(1, [0x03, 0x9c, 0x40, 0x00, 0x00]))!]).toEqual([0x83, 0x03]) // 0 registers
    expect([...(await client.request(1, [0x03, 0x9c, 0x40, 0x00]))!]).toEqual([0x83, 0x03]) // short PDU
    const end = 40000 + image('pv1').length
    expect([...(await client.request(1, [0x03, end >> 8, end & 0xff, 0x00, 0x01]))!]).toEqual([0x83, 0x02]) // past the end marker
    const w = image('pv1').addressOf(103, 'W')
    expect([...(await client.writeMultiple(1, w, [100]))!]).toEqual([0x90, 0x02]) // read-only point
    const pct = image('pv1').addressOf(123, 'WMaxLimPct')
    expect([...(await client.writeMultiple(1, pct, [2000]))!]).toEqual([0x90, 0x03]) // 200 %
    expect([...(await client.request(1, [0x10, pct >> 8, pct & 0xff, 0, 1, 4, 0, 1, 0, 2]))!]).toEqual([0x90, 0x03]) // byte count != 2*qty
    // The refused writes changed nothing.
    expect(await readPoint(client, 'pv1', 123, 'WMaxLimPct')).toBe(100)
  })

  it('closes only the connection that sent a malformed MBAP header, and reassembles split frames', async () => {
    const bad = await open('pv1')
    const good = await open('pv1')
    bad.sendRaw([0, 1, 0, 7, 0, 6, 1, 3, 0x9c, 0x40, 0, 2]) // protocol id 7
    expect(await bad.next(1000)).toBeNull()
    expect(bad.closed).toBe(true)
    const zeroLength = await open('pv1')
    zeroLength.sendRaw([0, 1, 0, 0, 0, 0, 1])
    expect(await zeroLength.next(1000)).toBeNull()
    // A frame split across two segments is answered once whole.
    good.sendRaw([0, 9, 0, 0, 0, 6, 1, 3])
    await new Promise((r) => setTimeout(r, 30))
    good.sendRaw([0x9c, 0x40, 0, 2])
    const frame = await good.next()
    expect(frame?.transaction).toBe(9)
    expect([...frame!.pdu]).toEqual([3, 4, 0x53, 0x75, 0x6e, 0x53])
  })

  it('answers pipelined requests in order and unknown unit IDs with a gateway exception', async () => {
    const client = await open('meter1')
    const sent = [client.send(1, [3, 0x9c, 0x40, 0, 1]), client.send(1, [3, 0x9c, 0x41, 0, 1]), client.send(7, [3, 0x9c, 0x40, 0, 1])]
    const frames = [await client.next(), await client.next(), await client.next()]
    expect(frames.map((f) => f!.transaction)).toEqual(sent)
    expect(frames[0]!.pdu.readUInt16BE(2)).toBe(0x5375)
    expect(frames[1]!.pdu.readUInt16BE(2)).toBe(0x6e53)
    expect([...frames[2]!.pdu]).toEqual([0x83, 0x0b])
  })

  it('charges the battery on a 704 WSet write, moves the meter by the same power, then reverts when not refreshed', async () => {
    const bat = await open('bat1')
    const meter = await open('meter1')
    sim.advance(1000)
    const gridBefore = sim.physics.gridW
    const batteryBefore = sim.physics.batteries[0]!.powerW
    const socBefore = (await readPoint(bat, 'bat1', 802, 'SoC')) as number
    const ena = image('bat1').addressOf(704, 'WSetEna')
    expect(await bat.writeMultiple(1, ena, [1, 1])).not.toBeNull() // WSetEna=1, WSetMod=1 (watts)
    const wset = image('bat1').addressOf(704, 'WSet')
    expect([...(await bat.writeMultiple(1, wset, s32(-3000)))!]).toEqual([0x10, wset >> 8, wset & 0xff, 0, 2])
    sim.advance(30_000)
    expect(await readPoint(bat, 'bat1', 802, 'W')).toBe(-3000)
    expect(await readPoint(bat, 'bat1', 103, 'W')).toBe(-3000)
    const meterW = (await readPoint(meter, 'meter1', 203, 'W')) as number
    // The meter sees the change of battery power (within the load/PV drift of 31 s).
    expect(meterW - gridBefore).toBeGreaterThan(3000 + batteryBefore - 150)
    expect(meterW - gridBefore).toBeLessThan(3000 + batteryBefore + 150)
    sim.advance(20 * 60_000)
    expect(await readPoint(bat, 'bat1', 802, 'SoC')).toBeGreaterThan(socBefore)
    // Not refreshed for commandTimeoutS (60 s): back to self-consumption and WSetEna=0.
    expect(await readPoint(bat, 'bat1', 704, 'WSetEna')).toBe(0)
    expect(sim.physics.batteries[0]!.setpointW).toBeNull()
    expect(sim.recentEvents().some((e) => e.includes('bat1: setpoint not refreshed; reverted to self-consumption'))).toBe(true)
  })

  it('keeps a setpoint alive while the controller heartbeat (802 CtrlHb) is written', async () => {
    const bat = await open('bat1')
    const ena = image('bat1').addressOf(704, 'WSetEna')
    await bat.writeMultiple(1, ena, [1, 1, ...s32(1000)])
    const hb = image('bat1').addressOf(802, 'CtrlHb')
    for (let i = 1; i <= 5; i++) {
      sim.advance(45_000)
      expect([...(await bat.request(1, [0x06, hb >> 8, hb & 0xff, 0, i]))!]).toEqual([0x06, hb >> 8, hb & 0xff, 0, i])
    }
    expect(sim.physics.batteries[0]!.setpointW?.value).toBe(1000)
    await bat.writeMultiple(1, ena, [0])
    expect(sim.physics.batteries[0]!.setpointW).toBeNull()
  })

  it('limits the inverter with 123 WMaxLimPct and reverts after WMaxLimPct_RvrtTms', async () => {
    const pv = await open('pv1')
    sim.advance(1000)
    expect(sim.physics.inverters[0]!.availableW).toBeGreaterThan(3000) // a summer noon
    const pct = image('pv1').addressOf(123, 'WMaxLimPct')
    const rvrt = image('pv1').addressOf(123, 'WMaxLimPct_RvrtTms')
    const ena = image('pv1').addressOf(123, 'WMaxLim_Ena')
    await pv.writeMultiple(1, rvrt, s16(120))
    await pv.writeMultiple(1, pct, s16(250)) // 25.0 % (WMaxLimPct_SF = -1)
    await pv.writeMultiple(1, ena, s16(1))
    sim.advance(10_000)
    expect(await readPoint(pv, 'pv1', 103, 'W')).toBeLessThanOrEqual(2000)
    expect(await readPoint(pv, 'pv1', 103, 'St')).toBe(5) // THROTTLED
    sim.advance(121_000)
    expect(await readPoint(pv, 'pv1', 123, 'WMaxLim_Ena')).toBe(0)
    expect(await readPoint(pv, 'pv1', 103, 'W')).toBeGreaterThan(3000)
  })
})

describe('fault injection through the control API', () => {
  it('answers with an injected exception, then recovers when faults are cleared', async () => {
    const client = await open('pv1')
    expect((await api('PUT', '/api/devices/pv1/faults', { exceptionCode: 4 })).status).toBe(200)
    expect([...(await client.request(1, [3, 0x9c, 0x40, 0, 2]))!]).toEqual([0x83, 0x04])
    await api('DELETE', '/api/devices/pv1/faults')
    expect(await client.readHolding(1, 40000, 2)).toEqual([0x5375, 0x6e53])
  })

  it('stays silent, delays, refuses and drops connections on demand', async () => {
    const client = await open('meter1')
    await api('PUT', '/api/devices/meter1/faults', { noResponse: true })
    expect(await client.request(1, [3, 0x9c, 0x40, 0, 2], 300)).toBeNull()
    await api('PUT', '/api/devices/meter1/faults', { noResponse: false, delayMs: 250 })
    const t0 = performance.now()
    expect(await client.readHolding(1, 40000, 1)).toEqual([0x5375])
    expect(performance.now() - t0).toBeGreaterThanOrEqual(240)
    await api('PUT', '/api/devices/meter1/faults', { delayMs: 0, refuseConnections: true })
    const refused = await open('meter1')
    expect(await refused.next(500)).toBeNull()
    expect(refused.closed).toBe(true)
    await api('PUT', '/api/devices/meter1/faults', { refuseConnections: false })
    const dropped = await api('POST', '/api/devices/meter1/disconnect')
    expect(dropped.body.dropped).toBeGreaterThanOrEqual(1)
    expect(await client.next(500)).toBeNull()
    expect(client.closed).toBe(true)
  })

  it('freezes registers, serves sentinels and trips a device', async () => {
    const pv = await open('pv1')
    const bat = await open('bat1')
    await api('PUT', '/api/devices/bat1/faults', { sentinelPoints: ['802.SoC', '103.W'] })
    expect(await bat.readHolding(1, image('bat1').addressOf(802, 'SoC'), 1)).toEqual([0xffff])
    expect(await bat.readHolding(1, image('bat1').addressOf(103, 'W'), 1)).toEqual([0x8000])
    await api('PUT', '/api/devices/bat1/faults', { sentinelPoints: [], frozen: true })
    const hb = image('bat1').addressOf(802, 'Hb')
    const [before] = await bat.readHolding(1, hb, 1)
    sim.advance(5000)
    expect(await bat.readHolding(1, hb, 1)).toEqual([before])
    await api('PUT', '/api/devices/pv1/faults', { tripped: true })
    sim.advance(2000)
    expect(await readPoint(pv, 'pv1', 103, 'St')).toBe(7) // FAULT
    expect(await readPoint(pv, 'pv1', 103, 'W')).toBe(0)
    expect(sim.physics.inverters[0]!.powerW).toBe(0)
  })

  it('rejects bad requests with a message naming the problem and changes nothing', async () => {
    const before = (await api('GET', '/api/devices/pv1')).body.faults
    const cases: [string, string, unknown, number, RegExp][] = [
      ['PUT', '/api/devices/pv1/faults', '{"delayMs": 5', 400, /request body: invalid JSON/],
      ['PUT', '/api/devices/pv1/faults', { delayMs: -1 }, 400, /delayMs: Too small/],
      ['PUT', '/api/devices/pv1/faults', { colour: 'red' }, 400, /unknown field\(s\) colour/],
      ['PUT', '/api/devices/pv1/faults', { sentinelPoints: ['999.X'] }, 400, /device 'pv1' has no point 999.X/],
      ['PUT', '/api/devices/meter1/faults', { tripped: true }, 400, /a meter cannot trip/],
      ['PUT', '/api/devices/nope/faults', { tripped: true }, 404, /no device 'nope'; devices: pv1, bat1, meter1/],
      ['PUT', '/api/clock', { speed: -2 }, 400, /speed: Too small/],
      ['POST', '/api/clock/advance', {}, 400, /seconds/],
      ['GET', '/api/nothing', undefined, 404, /no route GET \/api\/nothing/],
    ]
    for (const [method, path, body, status, message] of cases) {
      const res = await api(method, path, body)
      expect(res.status, `${method} ${path}`).toBe(status)
      expect(res.body.error).toMatch(message)
    }
    expect((await api('GET', '/api/devices/pv1')).body.faults).toEqual(before)
  })
})

describe('gateway and start-up', () => {
  it('serves several unit IDs behind one TCP port', async () => {
    const gateway = await startSimulator(
      testSite({
        devices: [
          { name: 'pvA', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 3 }, ratedW: 5000 },
          { name: 'pvB', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 4 }, ratedW: 5000, sunspecBase: 50000 },
        ],
      }),
      { log: quiet },
    )
    try {
      // Port 0 gives each device its own port; a fixed shared port makes a gateway.
      expect(gateway.ready[0]!.port).not.toBe(gateway.ready[1]!.port)
    } finally {
      await gateway.close()
    }
    const port = await freePort()
    const shared = await startSimulator(
      testSite({
        devices: [
          { name: 'pvA', kind: 'inverter', transport: { type: 'tcp', port, unitId: 3 }, ratedW: 5000 },
          { name: 'pvB', kind: 'inverter', transport: { type: 'tcp', port, unitId: 4 }, ratedW: 5000, sunspecBase: 50000 },
        ],
      }),
      { log: quiet },
    )
    try {
      const client = await RawModbusTcp.open(port)
      clients.push(client)
      expect(await client.readHolding(3, 40000, 2)).toEqual([0x5375, 0x6e53])
      expect(await client.readHolding(4, 50000, 2)).toEqual([0x5375, 0x6e53])
      expect([...(await client.request(4, [3, 0x9c, 0x40, 0, 2]))!]).toEqual([0x83, 0x02])
      expect([...(await client.request(9, [3, 0x9c, 0x40, 0, 2]))!]).toEqual([0x83, 0x0b])
    } finally {
      await shared.close()
    }
  })

  it('fails with a clear error on a port in use and leaves nothing listening', async () => {
    const firstPort = await freePort()
    const busy = await startSimulator(testSite({ devices: [{ name: 'm', kind: 'meter', transport: { type: 'tcp', port: 0 } }] }), { log: quiet })
    const busyPort = busy.ready[0]!.port!
    try {
      const attempt = startSimulator(
        testSite({
          devices: [
            { name: 'pv9', kind: 'inverter', transport: { type: 'tcp', port: firstPort }, ratedW: 1000 },
            { name: 'm9', kind: 'meter', transport: { type: 'tcp', port: busyPort } },
          ],
        }),
        { log: quiet },
      )
      await expect(attempt).rejects.toThrow(`device 'm9': cannot listen on 127.0.0.1:${busyPort}: the address is already in use (EADDRINUSE)`)
      await expect(canConnect(firstPort)).resolves.toBe(false)
    } finally {
      await busy.close()
    }
  })
})

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      server.close(() => resolve(port))
    })
  })
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
}
