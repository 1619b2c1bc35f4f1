// The real Modbus transports and servers under fuzz, over loopback TCP and a socat pty
// pair: a hostile device answering the client's requests with fuzzed bytes, and a
// hostile client sending fuzzed streams to the simulator's servers. Each request settles
// with a PDU or one of the transport's named errors, the servers keep serving, and a
// run that stalls fails on fast-check's per-input timeout.
import { connect, createServer, type Server, type Socket } from 'node:net'
import fc from 'fast-check'
import { SerialPort } from 'serialport'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { createRtuTransport } from '../../core/devices/modbus/createRtuTransport.ts'
import { createTcpTransport } from '../../core/devices/modbus/createTcpTransport.ts'
import { ModbusConnectionError, ModbusExceptionError, ModbusFrameError, ModbusTimeoutError } from '../../core/devices/modbus/errors.ts'
import type { ModbusTransport } from '../../core/devices/modbus/ModbusTransport.ts'
import { readMbapFrame } from '../../core/devices/modbus/readMbapFrame.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { openPtyPair, type PtyPair } from '../support/ptyPair.ts'
import { testSite } from '../support/simSites.ts'
import { fuzzSeed } from './fuzzSeed.ts'
import { rtuServerTarget, tcpServerTarget } from './modbusFuzzTargets.ts'

const named = [ModbusFrameError, ModbusExceptionError, ModbusTimeoutError, ModbusConnectionError]
const isNamed = (error: unknown) => named.some((c) => error instanceof c)
const read40000 = Buffer.from([0x03, 0x9c, 0x40, 0x00, 0x02])
const runOptions = (numRuns: number) => ({ seed: fuzzSeed, numRuns, timeout: 10_000 })

/** How a hostile device answers one request: a frame from its parts (some wrong), raw bytes, or silence. */
type Answer = { kind: 'frame'; tidSkew: number; protocol: number; lengthSkew: number; unitSkew: number; body: Uint8Array; tail: Uint8Array } | { kind: 'raw'; bytes: Uint8Array } | { kind: 'close' } | { kind: 'silence' }
const answer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('frame' as const), tidSkew: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }), protocol: fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }), lengthSkew: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -8, max: 300 }) }), unitSkew: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 255 }) }), body: fc.oneof(fc.constant(new Uint8Array([0x03, 0x04, 0x53, 0x75, 0x6e, 0x53])), fc.constant(new Uint8Array([0x83, 0x02])), fc.uint8Array({ maxLength: 260 })), tail: fc.uint8Array({ maxLength: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 300 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'close' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'silence' as const }) },
)

describe('Modbus TCP client against a hostile device', { timeout: 120_000 }, () => {
  let server: Server
  let transport: ModbusTransport
  let next: Answer = { kind: 'silence' }
  beforeAll(async () => {
    server = createServer((socket: Socket) => {
      socket.on('error', () => {})
      let pending: Buffer = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk])
        for (let read = readMbapFrame(pending, 2); read.kind === 'frame'; read = readMbapFrame(pending, 2)) {
          pending = read.rest
          const a = next
          if (a.kind === 'close') socket.destroy()
          else if (a.kind === 'raw') socket.write(a.bytes)
          else if (a.kind === 'frame') {
            const body = Buffer.from(a.body)
            const frame = Buffer.alloc(7 + body.length)
            frame.writeUInt16BE((read.frame.transaction + a.tidSkew) & 0xffff, 0)
            frame.writeUInt16BE(a.protocol, 2)
            frame.writeUInt16BE((body.length + 1 + a.lengthSkew) & 0xffff, 4)
            frame[6] = (read.frame.unitId + a.unitSkew) & 0xff
            body.copy(frame, 7)
            socket.write(Buffer.concat([frame, Buffer.from(a.tail)]))
          }
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    transport = createTcpTransport({ host: '127.0.0.1', port, reconnectBackoffMs: 1, maxReconnectBackoffMs: 5 })
  })
  afterAll(async () => {
    await transport?.close()
    await new Promise((resolve) => server?.close(resolve))
  })

  it('every request settles with a PDU or a named Modbus error, and the client recovers', async () => {
    process.stdout.write(`fuzz modbus-tcp-client over loopback: seed ${fuzzSeed}\n`)
    const outcomes = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(answer, async (a) => {
        next = a
        try {
          const pdu = await transport.request(1, read40000, { timeoutMs: 150, address: 40000 })
          expect(pdu).toEqual(Buffer.from([0x03, 0x04, 0x53, 0x75, 0x6e, 0x53]))
          outcomes.set('pdu', (outcomes.get('pdu') ?? 0) + 1)
        } catch (error) {
          if (!isNamed(error)) throw error
          outcomes.set((error as Error).name, (outcomes.get((error as Error).name) ?? 0) + 1)
        }
      }),
      runOptions(80),
    )
    // The inputs reached every outcome, not only one kind of refusal.
    expect([...outcomes.keys()].sort()).toEqual(['ModbusConnectionError', 'ModbusExceptionError', 'ModbusFrameError', 'ModbusTimeoutError', 'pdu'])
    // Recovered: a good answer is read as one (retries cover a backoff left by the last run).
    next = { kind: 'frame', tidSkew: 0, protocol: 0, lengthSkew: 0, unitSkew: 0, body: new Uint8Array([0x03, 0x04, 1, 2, 3, 4]), tail: new Uint8Array() }
    let pdu: Buffer | null = null
    for (let i = 0; i < 20 && !pdu; i++) pdu = await transport.request(1, read40000, { timeoutMs: 1000, address: 40000 }).catch(() => new Promise<null>((r) => setTimeout(() => r(null), 50)))
    expect(pdu).toEqual(Buffer.from([0x03, 0x04, 1, 2, 3, 4]))
  })
})

/** Sends bytes on a fresh connection, half-closes, and resolves with all the server sent before it closed. */
function exchange(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (d: Buffer) => chunks.push(d))
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' || error.code === 'EPIPE' ? undefined : reject(error)))
    socket.on('close', () => resolve(Buffer.concat(chunks)))
    socket.end(bytes)
  })
}

describe('the simulator under a hostile client', { timeout: 120_000 }, () => {
  let sim: Simulator
  let pty: PtyPair
  let line: SerialPort
  let received: Buffer = Buffer.alloc(0)
  beforeAll(async () => {
    pty = await openPtyPair()
    sim = await startSimulator(
      testSite({
        devices: [
          ...testSite().devices,
          { name: 'pvR', kind: 'inverter', transport: { type: 'rtu', path: pty.a, baudRate: 19200, unitId: 3 }, ratedW: 3000 },
        ],
      }),
      { log: () => {} },
    )
    line = new SerialPort({ path: pty.b, baudRate: 19200, autoOpen: false })
    await new Promise<void>((resolve, reject) => line.open((e) => (e ? reject(e) : resolve())))
    line.on('data', (d: Buffer) => (received = Buffer.concat([received, d])))
  })
  afterAll(async () => {
    if (line?.isOpen) await new Promise((r) => line.close(r))
    await sim?.close()
    pty?.close()
  })

  it('TCP: answers each stream with well-formed MBAP frames or closes, and keeps answering others', async () => {
    const port = sim.ready.find((r) => r.device === 'bat1')!.port!
    process.stdout.write(`fuzz modbus-tcp-server over loopback: seed ${fuzzSeed}\n`)
    let answers = 0
    await fc.assert(
      fc.asyncProperty(tcpServerTarget.arbitrary, async (stream) => {
        let out = await exchange(port, stream)
        for (let read = readMbapFrame(out, 3); out.length > 0; read = readMbapFrame(out, 3)) {
          expect(read.kind, `the server sent ${out.toString('hex')}`).toBe('frame')
          if (read.kind !== 'frame') return
          answers++
          out = read.rest
        }
      }),
      runOptions(150),
    )
    expect(answers).toBeGreaterThan(50)
    const answer = await exchange(port, Buffer.from([0, 9, 0, 0, 0, 6, 1, ...read40000]))
    expect(answer.subarray(0, 9)).toEqual(Buffer.from([0, 9, 0, 0, 0, 7, 1, 0x03, 0x04]))
  })

  it('RTU: garbage on the line never stops it answering the next good request', async () => {
    const request = Buffer.from([3, ...read40000, 0, 0])
    request.writeUInt16LE(crc16(request, 6), 6)
    const expected = Buffer.from([3, 0x03, 0x04, 0x53, 0x75, 0x6e, 0x53, 0, 0])
    expected.writeUInt16LE(crc16(expected, 7), 7)
    const quiet = () => new Promise((r) => setTimeout(r, 40)) // the line's silence ends an RTU frame (3.5 characters)
    process.stdout.write(`fuzz modbus-rtu-server over a pty: seed ${fuzzSeed}\n`)
    await fc.assert(
      fc.asyncProperty(rtuServerTarget.arbitrary, async (garbage) => {
        line.write(garbage)
        await new Promise((r) => line.drain(r))
        await quiet()
        received = Buffer.alloc(0)
        // Under load the garbage may reach the server late and merge with the request; a
        // wedged server never answers any retry, and the run's timeout fails it.
        for (;;) {
          line.write(request)
          for (let waited = 0; waited < 300 && !received.includes(expected); waited += 5) await new Promise((r) => setTimeout(r, 5))
          if (received.includes(expected)) break
          await quiet()
        }
      }),
      runOptions(40),
    )
  })
})

describe('Modbus RTU client against a hostile device on a pty', { timeout: 120_000 }, () => {
  let pty: PtyPair
  let device: SerialPort
  let transport: ModbusTransport
  let next: { kind: 'frame'; unit: number; body: Uint8Array; crcOk: boolean; tail: Uint8Array } | { kind: 'raw'; bytes: Uint8Array } = { kind: 'raw', bytes: new Uint8Array() }
  beforeAll(async () => {
    pty = await openPtyPair()
    device = new SerialPort({ path: pty.a, baudRate: 19200, autoOpen: false })
    await new Promise<void>((resolve, reject) => device.open((e) => (e ? reject(e) : resolve())))
    device.on('data', () => {
      const a = next
      if (a.kind === 'raw') return void device.write(Buffer.from(a.bytes))
      const frame = Buffer.alloc(a.body.length + 3)
      frame[0] = a.unit
      Buffer.from(a.body).copy(frame, 1)
      frame.writeUInt16LE(a.crcOk ? crc16(frame, a.body.length + 1) : 0x1234, a.body.length + 1)
      device.write(Buffer.concat([frame, Buffer.from(a.tail)]))
    })
    transport = createRtuTransport({ path: pty.b, baudRate: 19200 })
  })
  afterAll(async () => {
    await transport?.close()
    if (device?.isOpen) await new Promise((r) => device.close(r))
    pty?.close()
  })

  it('every request settles with a PDU or a named Modbus error', async () => {
    process.stdout.write(`fuzz modbus-rtu-client over a pty: seed ${fuzzSeed}\n`)
    const rtuAnswer = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('frame' as const), unit: fc.oneof({ weight: 4, arbitrary: fc.constant(5) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }), body: fc.oneof(fc.constant(new Uint8Array([0x03, 0x04, 0x53, 0x75, 0x6e, 0x53])), fc.constant(new Uint8Array([0x83, 0x02])), fc.constant(new Uint8Array([0x03, 0x05, 1, 2, 3, 4])), fc.uint8Array({ maxLength: 40 })), crcOk: fc.boolean(), tail: fc.uint8Array({ maxLength: 6 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('raw' as const), bytes: fc.uint8Array({ maxLength: 60 }) }) },
    )
    await fc.assert(
      fc.asyncProperty(rtuAnswer, async (a) => {
        next = a
        try {
          const pdu = await transport.request(5, read40000, { timeoutMs: 150, address: 40000 })
          expect(pdu).toEqual(Buffer.from([0x03, 0x04, 0x53, 0x75, 0x6e, 0x53]))
        } catch (error) {
          if (!isNamed(error)) throw error
        }
        await new Promise((r) => setTimeout(r, 10)) // let a tail arrive before the next request's silence
      }),
      runOptions(40),
    )
  })
})
