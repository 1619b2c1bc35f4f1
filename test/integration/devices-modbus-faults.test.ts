import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createModbusClient, type ModbusClient } from '../../core/devices/modbus/createModbusClient.ts'
import { createTcpTransport } from '../../core/devices/modbus/createTcpTransport.ts'
import {
  ModbusConnectionError, ModbusDeviceBackoffError, ModbusExceptionError, ModbusFrameError, ModbusTimeoutError,
} from '../../core/devices/modbus/errors.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The client under faults: injected by the simulator (timeouts, exceptions, dropped
// connections) and by small misbehaving servers written here (wrong transaction id,
// wrong unit, one client only).
let sim: Simulator
const clients: ModbusClient[] = []
const servers: Server[] = []
const track = (c: ModbusClient) => (clients.push(c), c)
const faults = (device: string, body: unknown) =>
  fetch(`${sim.apiUrl}/api/devices/${device}/faults`, { method: body === null ? 'DELETE' : 'PUT', body: body === null ? undefined : JSON.stringify(body) })

beforeAll(async () => {
  // Two inverters behind one gateway port (units 1 and 2) and a meter on its own port.
  const port = await freePort()
  sim = await startSimulator(
    testSite({
      devices: [
        { name: 'pvA', kind: 'inverter', transport: { type: 'tcp', port, unitId: 1 }, ratedW: 5000 },
        { name: 'pvB', kind: 'inverter', transport: { type: 'tcp', port, unitId: 2 }, ratedW: 5000 },
        { name: 'meter', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } },
      ],
    }),
    { log: () => {} },
  )
})
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()))
  for (const s of servers.splice(0)) s.close()
  for (const name of sim.devices.keys()) await faults(name, null)
})
afterAll(async () => {
  await sim.close()
})

const gatewayPort = () => sim.ready.find((r) => r.device === 'pvA')!.port!
const client = (port: number, options: Parameters<typeof createModbusClient>[1] = {}) =>
  track(createModbusClient(createTcpTransport({ host: '127.0.0.1', port, reconnectBackoffMs: 10, maxReconnectBackoffMs: 50 }), { timeoutMs: 200, retries: 0, ...options }))

describe('Modbus client under faults', () => {
  it('reports a timeout, then serves the next request on the same connection', async () => {
    const c = client(gatewayPort())
    await faults('pvA', { noResponse: true })
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(ModbusTimeoutError)
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(/tcp:\/\/127\.0\.0\.1:\d+ unit 1: no response within 200 ms \(request at address 40000\)/)
    await faults('pvA', null)
    expect([...(await c.readHoldingRegisters(1, 40000, 2))]).toEqual([0x5375, 0x6e53])
  })

  it('names an exception and does not retry it', async () => {
    const c = client(gatewayPort(), { retries: 3 })
    await faults('pvA', { exceptionCode: 6 })
    const error = await c.readHoldingRegisters(1, 40000, 2).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModbusExceptionError)
    expect((error as Error).message).toMatch(/unit 1: exception 6 \(Server Device Busy\) to function 0x03 at address 40000/)
    expect(c.health(1).failures).toBe(0) // an answer is a sign of life
  })

  it('drops a late answer to a timed-out request by its transaction id', async () => {
    const c = client(gatewayPort())
    await faults('pvA', { delayMs: 300 })
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(ModbusTimeoutError)
    await faults('pvA', { delayMs: 0 })
    // The late answer (SunS) arrives while this request waits: it must not be taken for it.
    const words = await c.readHoldingRegisters(1, 40002, 2, { timeoutMs: 1000 })
    expect([...words]).toEqual([1, 66])
  })

  it('recovers from a connection dropped mid-request by reconnecting', async () => {
    const c = client(gatewayPort(), { retries: 2, retryBackoffMs: 20 })
    await faults('pvA', { delayMs: 150 })
    const pending = c.readHoldingRegisters(1, 40000, 2, { timeoutMs: 1000 })
    await new Promise((r) => setTimeout(r, 50))
    await fetch(`${sim.apiUrl}/api/devices/pvA/disconnect`, { method: 'POST' })
    await faults('pvA', { delayMs: 0 })
    expect([...(await pending)]).toEqual([0x5375, 0x6e53]) // retried on a new connection
  })

  it('fails with a connection error while the device refuses connections, then reconnects', async () => {
    const c = client(sim.ready.find((r) => r.device === 'meter')!.port!)
    await faults('meter', { refuseConnections: true })
    await expect(c.readHoldingRegisters(1, 40000, 2)).rejects.toThrow(ModbusConnectionError)
    await faults('meter', null)
    await new Promise((r) => setTimeout(r, 60))
    expect([...(await c.readHoldingRegisters(1, 40000, 2))]).toEqual([0x5375, 0x6e53])
  })

  it('keeps polling a live unit at full rate while a dead unit behind the same gateway is backed off', async () => {
    const c = client(gatewayPort(), { retries: 1, defectiveAfterFailures: 3, defectiveBackoffMs: 10_000 })
    await faults('pvB', { noResponse: true })
    let timeouts = 0
    let skipped = 0
    let good = 0
    for (let round = 0; round < 30; round++) {
      const [a, b] = await Promise.allSettled([c.readHoldingRegisters(1, 40000, 2), c.readHoldingRegisters(2, 40000, 2)])
      if (a.status === 'fulfilled') good++
      if (b.status === 'rejected' && b.reason instanceof ModbusTimeoutError) timeouts++
      if (b.status === 'rejected' && b.reason instanceof ModbusDeviceBackoffError) skipped++
    }
    expect(good).toBe(30)
    expect(timeouts).toBe(3) // three failed polls (with their retries), then the unit is skipped
    expect(skipped).toBe(27)
    expect(c.health(2).failures).toBe(3)
  })

  it('rejects an answer from the wrong unit and a wrong function code as malformed', async () => {
    const port = await misbehavingServer((socket, frame) => {
      const tid = frame.readUInt16BE(0)
      const unit = frame[6]!
      const reply = unit === 1 ? [0x03, 0x02, 0x00, 0x01] : [0x04, 0x02, 0x00, 0x01]
      socket.write(mbap(tid, unit === 1 ? 9 : unit, reply))
    })
    const c = client(port)
    await expect(c.readHoldingRegisters(1, 0, 1)).rejects.toThrow(/malformed response: unit 9 answered a request to unit 1/)
    await expect(c.readHoldingRegisters(2, 0, 1)).rejects.toThrow(ModbusFrameError)
    await expect(c.readHoldingRegisters(2, 0, 1)).rejects.toThrow(/function 0x4 in answer to 0x3/)
  })

  it('ignores a response with a foreign transaction id and times out cleanly', async () => {
    const port = await misbehavingServer((socket, frame) => socket.write(mbap((frame.readUInt16BE(0) + 77) & 0xffff, frame[6]!, [0x03, 0x02, 0x00, 0x01])))
    const c = client(port)
    await expect(c.readHoldingRegisters(1, 0, 1)).rejects.toThrow(ModbusTimeoutError)
  })

  it('gives a second client of a one-client device a clear connection error and keeps the first working', async () => {
    let active: Socket | null = null
    const port = await misbehavingServer(
      (socket, frame) => socket.write(mbap(frame.readUInt16BE(0), frame[6]!, [0x03, 0x02, 0x12, 0x34])),
      (socket) => {
        if (active && !active.destroyed) {
          socket.destroy()
          return false
        }
        active = socket
        return true
      },
    )
    const first = client(port)
    const second = client(port)
    expect([...(await first.readHoldingRegisters(1, 0, 1))]).toEqual([0x1234])
    await expect(second.readHoldingRegisters(1, 0, 1)).rejects.toThrow(ModbusConnectionError)
    expect([...(await first.readHoldingRegisters(1, 0, 1))]).toEqual([0x1234])
  })
})

function mbap(tid: number, unit: number, pdu: number[]): Buffer {
  const out = Buffer.alloc(7 + pdu.length)
  out.writeUInt16BE(tid, 0)
  out.writeUInt16BE(pdu.length + 1, 4)
  out[6] = unit
  Buffer.from(pdu).copy(out, 7)
  return out
}

async function misbehavingServer(onFrame: (socket: Socket, frame: Buffer) => void, onConnect: (socket: Socket) => boolean = () => true): Promise<number> {
  const server = createServer((socket) => {
    if (!onConnect(socket)) return
    let buffer = Buffer.alloc(0)
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk])
      while (buffer.length >= 7 && buffer.length >= 6 + buffer.readUInt16BE(4)) {
        const frame = buffer.subarray(0, 6 + buffer.readUInt16BE(4))
        buffer = buffer.subarray(frame.length)
        onFrame(socket, frame)
      }
    })
  })
  servers.push(server)
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  return (server.address() as AddressInfo).port
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port
      s.close(() => resolve(port))
    })
  })
}
