// The four Modbus parsers that face the outside, as pure fuzz targets: each has a
// generator of hostile byte streams (random, structured with wrong fields, valid then
// mutated, valid CRC around nonsense) and a check of what the parser must guarantee.
// test/fuzz/modbusFrames.fuzz.test.ts runs a few thousand of each in CI;
// bench/fuzz.bench.ts runs a million of each.
import { strict as assert } from 'node:assert'
import fc from 'fast-check'
import { checkResponsePdu } from '../../core/devices/modbus/checkResponsePdu.ts'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { expectedResponseLength } from '../../core/devices/modbus/ModbusTransport.ts'
import { readMbapFrame } from '../../core/devices/modbus/readMbapFrame.ts'
import { readRtuResponse } from '../../core/devices/modbus/readRtuResponse.ts'
import { createBattery } from '../../hardware-sims/devices/createBattery.ts'
import { createInverter } from '../../hardware-sims/devices/createInverter.ts'
import { createMeter } from '../../hardware-sims/devices/createMeter.ts'
import { createProfileDevice } from '../../hardware-sims/devices/createProfileDevice.ts'
import type { SimDevice } from '../../hardware-sims/devices/SimDevice.ts'
import { handlePdu } from '../../hardware-sims/modbus/handlePdu.ts'
import { parseRtuRequest } from '../../hardware-sims/modbus/parseRtuRequest.ts'
import { rtuRequestLength } from '../../hardware-sims/modbus/rtuRequestLength.ts'
import { createSitePhysics } from '../../hardware-sims/physics/sitePhysics.ts'
import type { BatteryConfig, InverterConfig, MeterConfig } from '../../hardware-sims/site/siteSchema.ts'
import { testSite } from '../support/simSites.ts'

/** A parser under fuzz: inputs from `arbitrary`, and `check` throws when a guarantee breaks. */
export type FuzzTarget<T> = { name: string; arbitrary: fc.Arbitrary<T>; check: (input: T) => void }

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b))
const u16 = fc.integer({ min: 0, max: 0xffff })
const u8 = fc.integer({ min: 0, max: 0xff })

/** Register addresses where the simulated devices have maps, and anywhere else. */
const address = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 39_990, max: 40_400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 120 }) },
  { weight: 1, arbitrary: fc.integer({ min: 49_990, max: 50_400 }) },
  { weight: 1, arbitrary: u16 },
)

/** Request PDUs a client sends or a server receives: well formed, off by one, or anything. */
export const requestPdu: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.constantFrom(0x03, 0x04), address, fc.oneof(fc.integer({ min: 1, max: 125 }), u16)).map(([fc_, a, n]) => {
    const pdu = Buffer.alloc(5)
    pdu[0] = fc_
    pdu.writeUInt16BE(a, 1)
    pdu.writeUInt16BE(n, 3)
    return pdu
  }),
  fc.tuple(address, u16).map(([a, v]) => {
    const pdu = Buffer.alloc(5)
    pdu[0] = 0x06
    pdu.writeUInt16BE(a, 1)
    pdu.writeUInt16BE(v, 3)
    return pdu
  }),
  fc.tuple(address, fc.array(u16, { minLength: 0, maxLength: 125 }), fc.integer({ min: -2, max: 2 }), fc.integer({ min: -2, max: 2 })).map(([a, values, countSkew, bytesSkew]) => {
    const pdu = Buffer.alloc(6 + values.length * 2)
    pdu[0] = 0x10
    pdu.writeUInt16BE(a, 1)
    pdu.writeUInt16BE(Math.max(0, values.length + countSkew), 3)
    pdu[5] = Math.max(0, Math.min(255, values.length * 2 + bytesSkew))
    values.forEach((v, i) => pdu.writeUInt16BE(v, 6 + i * 2))
    return pdu
  }),
  fc.tuple(u8, bytes(20)).map(([f, rest]) => Buffer.concat([Buffer.from([f]), rest])),
)

/** Client requests: what createModbusClient sends (a read of 1-125, a write). */
const clientRequestPdu: fc.Arbitrary<Buffer> = fc.oneof(
  fc.tuple(fc.constantFrom(0x03, 0x04), address, fc.integer({ min: 1, max: 125 })).map(([f, a, n]) => {
    const pdu = Buffer.alloc(5)
    pdu[0] = f
    pdu.writeUInt16BE(a, 1)
    pdu.writeUInt16BE(n, 3)
    return pdu
  }),
  fc.tuple(address, u16).map(([a, v]) => Buffer.from([0x06, a >> 8, a & 0xff, v >> 8, v & 0xff])),
  fc.tuple(address, fc.integer({ min: 1, max: 123 })).map(([a, n]) => {
    const pdu = Buffer.alloc(6 + 2 * n)
    pdu[0] = 0x10
    pdu.writeUInt16BE(a, 1)
    pdu.writeUInt16BE(n, 3)
    pdu[5] = 2 * n
    return pdu
  }),
  fc.tuple(u8.filter((f) => ![0x03, 0x04, 0x06, 0x10].includes(f)), bytes(8)).map(([f, rest]) => Buffer.concat([Buffer.from([f]), rest])),
)

/** The right answer to a request, as a server would give it. */
function goodResponse(request: Buffer, fill: number): Buffer {
  const fcode = request[0]!
  const expected = expectedResponseLength(request)
  if (fcode === 0x03 || fcode === 0x04) {
    const out = Buffer.alloc(expected!, fill)
    out[0] = fcode
    out[1] = expected! - 2
    return out
  }
  if (fcode === 0x06 || fcode === 0x10) return Buffer.from(request.subarray(0, 5))
  return Buffer.from([fcode, fill])
}

type Mutation = { at: number; value: number }
const mutations = fc.array(fc.record({ at: fc.nat(300), value: u8 }), { maxLength: 3 })
const mutate = (buffer: Buffer, list: Mutation[]): Buffer => {
  const out = Buffer.from(buffer)
  for (const m of list) if (out.length) out[m.at % out.length] = m.value
  return out
}

/** Response PDUs for a request: right, exception, mutated, truncated, extended, random. */
const responsePduFor = (request: Buffer): fc.Arbitrary<Buffer> =>
  fc.oneof(
    u8.map((fill) => goodResponse(request, fill)),
    u8.map((code) => Buffer.from([(request[0]! | 0x80) & 0xff, code])),
    fc.tuple(u8, mutations).map(([fill, m]) => mutate(goodResponse(request, fill), m)),
    fc.tuple(u8, fc.integer({ min: -260, max: 260 })).map(([fill, cut]) => {
      const good = goodResponse(request, fill)
      return cut < 0 ? good.subarray(0, Math.max(0, good.length + cut)) : Buffer.concat([good, Buffer.alloc(cut, fill)]).subarray(0, 253)
    }),
    bytes(260),
  )

const mbap = (transaction: number, protocol: number, length: number | null, unitId: number, pdu: Buffer): Buffer => {
  const out = Buffer.alloc(7 + pdu.length)
  out.writeUInt16BE(transaction, 0)
  out.writeUInt16BE(protocol, 2)
  out.writeUInt16BE(length ?? (pdu.length + 1) & 0xffff, 4)
  out[6] = unitId
  pdu.copy(out, 7)
  return out
}

/** One MBAP-framed PDU, its header right or wrong in one field. */
const mbapFrame = (pdu: fc.Arbitrary<Buffer>, unitIds: fc.Arbitrary<number>) =>
  fc
    .tuple(u16, fc.oneof({ weight: 6, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: u16 }), fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: u16 }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3 }) }), unitIds, pdu)
    .map(([t, p, l, u, body]) => mbap(t, p, l, u, body))

/** A byte stream: frames back to back, cut anywhere, with garbage between; or noise. */
const stream = (frame: fc.Arbitrary<Buffer>) =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(frame, { minLength: 1, maxLength: 4 }).map((frames) => Buffer.concat(frames)) },
    { weight: 2, arbitrary: fc.tuple(fc.array(fc.oneof(frame, bytes(16)), { minLength: 1, maxLength: 4 }), fc.nat()).map(([parts, cut]) => { const all = Buffer.concat(parts); return all.subarray(0, all.length ? cut % (all.length + 1) : 0) }) },
    { weight: 1, arbitrary: bytes(600) },
  )

const rtu = (unitId: number, pdu: Buffer): Buffer => {
  const out = Buffer.alloc(pdu.length + 3)
  out[0] = unitId
  pdu.copy(out, 1)
  out.writeUInt16LE(crc16(out, pdu.length + 1), pdu.length + 1)
  return out
}

/** The client side of Modbus TCP: the MBAP framing loop of createTcpTransport, and each PDU checked against the request. */
export const tcpClientTarget: FuzzTarget<{ request: Buffer; unitId: number; stream: Buffer }> = {
  name: 'modbus-tcp-client',
  arbitrary: fc
    .tuple(clientRequestPdu, fc.integer({ min: 1, max: 247 }))
    .chain(([request, unitId]) => fc.record({ request: fc.constant(request), unitId: fc.constant(unitId), stream: stream(mbapFrame(responsePduFor(request), fc.oneof(fc.constant(unitId), u8))) })),
  check({ request, stream: input }) {
    let buffer = input
    for (let frames = 0; ; frames++) {
      assert.ok(frames <= input.length, 'the framing loop must consume bytes on every frame')
      const read = readMbapFrame(buffer, 3)
      if (read.kind === 'incomplete') {
        assert.ok(buffer.length < 7 || buffer.length < 6 + buffer.readUInt16BE(4), 'incomplete only when a header or body is missing')
        return
      }
      if (read.kind === 'bad') {
        assert.ok(read.protocol !== 0 || read.length < 3 || read.length > 254, `refused a good header: ${read.reason}`)
        return
      }
      const { pdu } = read.frame
      assert.ok(pdu.length >= 2 && pdu.length <= 253, `PDU of ${pdu.length} bytes passed the framing`)
      assert.equal(read.rest.length, buffer.length - 7 - pdu.length)
      checkAnswer(request, pdu)
      buffer = read.rest
    }
  },
}

/** What checkResponsePdu guarantees to its caller for any PDU. */
function checkAnswer(request: Buffer, pdu: Buffer): void {
  const result = checkResponsePdu(request, pdu)
  const fcode = request[0]!
  if (result.kind === 'ok') {
    assert.equal(pdu[0], fcode)
    const expected = expectedResponseLength(request)
    if (expected !== null) assert.equal(pdu.length, expected)
    if (fcode === 0x03 || fcode === 0x04) assert.equal(pdu[1], pdu.length - 2)
  } else if (result.kind === 'exception') {
    assert.equal(pdu.length, 2)
    assert.equal(pdu[0], (fcode | 0x80) & 0xff)
  } else {
    assert.equal(typeof result.reason, 'string')
    assert.ok(result.reason.length > 0 && result.reason.length < 200)
  }
}

/** The client side of Modbus RTU: bytes arrive in chunks; readRtuResponse on what has arrived, as createRtuTransport calls it. */
export const rtuClientTarget: FuzzTarget<{ request: Buffer; unitId: number; bytes: Buffer; cuts: number[] }> = {
  name: 'modbus-rtu-client',
  arbitrary: fc.tuple(clientRequestPdu, fc.integer({ min: 1, max: 247 })).chain(([request, unitId]) =>
    fc.record({
      request: fc.constant(request),
      unitId: fc.constant(unitId),
      bytes: fc.oneof(
        { weight: 3, arbitrary: fc.tuple(fc.oneof({ weight: 4, arbitrary: fc.constant(unitId) }, { weight: 1, arbitrary: u8 }), responsePduFor(request)).map(([u, pdu]) => rtu(u, pdu)) },
        { weight: 1, arbitrary: fc.tuple(responsePduFor(request), mutations).map(([pdu, m]) => mutate(rtu(unitId, pdu), m)) },
        { weight: 1, arbitrary: bytes(300) },
      ),
      cuts: fc.array(fc.nat(300), { maxLength: 4 }),
    }),
  ),
  check({ request, unitId, bytes: input, cuts }) {
    const ends = [...new Set([...cuts.map((c) => c % (input.length + 1)), input.length])].sort((a, b) => a - b)
    for (const end of ends) {
      const read = readRtuResponse(input.subarray(0, end), unitId, request)
      if (read.kind === 'incomplete') continue
      if (read.kind === 'ok') {
        const total = read.pdu.length + 3
        assert.equal(crc16(input, total - 2), input.readUInt16LE(total - 2), 'an answer with a bad CRC was accepted')
        assert.equal(input[0], unitId, 'an answer from another unit was accepted')
        checkAnswer(request, read.pdu)
      } else if (read.kind === 'exception') {
        assert.equal(input[1], (request[0]! | 0x80) & 0xff)
        assert.equal(crc16(input, 3), input.readUInt16LE(3))
      } else assert.ok(read.reason.length > 0)
      return
    }
  },
}

const physics = (() => {
  const site = testSite()
  return { site, physics: createSitePhysics(site, Date.parse('2013-01-15T02:00:00Z')) }
})()

/** The simulator's devices a server dispatches to: SunSpec inverter, battery and meter, and a profile meter. */
const devices: SimDevice[] = (() => {
  const { site } = physics
  const [inverter, battery, meter] = site.devices as [InverterConfig, BatteryConfig, MeterConfig]
  const all = [createInverter(inverter, 0), createBattery(battery, 0), createMeter(meter, site), createProfileDevice({ ...meter, name: 'sdm', profile: 'eastron-sdm630' }, site)]
  for (const device of all) device.refresh(physics.physics)
  return all
})()

const exceptionCodes = new Set([1, 2, 3, 4])

/** What handlePdu guarantees for any request: a PDU of at most 253 bytes, the function's answer or its exception. */
function checkServerAnswer(device: SimDevice, unitId: number, pdu: Buffer): void {
  const reply = handlePdu(device, physics.physics, pdu, () => {}, unitId)
  const fcode = pdu[0] ?? 0
  assert.ok(reply.length >= 2 && reply.length <= 253, `a ${reply.length}-byte answer`)
  if (reply[0] === ((fcode | 0x80) & 0xff) && reply.length === 2) {
    assert.ok(exceptionCodes.has(reply[1]!), `exception code ${reply[1]}`)
    return
  }
  assert.equal(reply[0], fcode, 'an answer with another function code')
  if (fcode === 0x03 || fcode === 0x04) {
    const count = pdu.readUInt16BE(3)
    assert.ok(pdu.length === 5 && count >= 1 && count <= 125, 'a read outside 1-125 registers was answered')
    assert.equal(reply[1], 2 * count)
    assert.equal(reply.length, 2 + 2 * count)
  } else if (fcode === 0x06) assert.deepEqual(reply, pdu)
  else if (fcode === 0x10) assert.deepEqual(reply, pdu.subarray(0, 5))
  else assert.fail(`function 0x${fcode.toString(16)} was answered without an exception`)
}

/** The server side of Modbus TCP: createTcpServer's framing loop, then handlePdu on the device the unit selects. */
export const tcpServerTarget: FuzzTarget<Buffer> = {
  name: 'modbus-tcp-server',
  arbitrary: stream(mbapFrame(fc.oneof({ weight: 4, arbitrary: requestPdu }, { weight: 1, arbitrary: bytes(260) }), fc.oneof(fc.integer({ min: 0, max: 4 }), u8))),
  check(input) {
    let buffer = input
    for (let frames = 0; ; frames++) {
      assert.ok(frames <= input.length, 'the framing loop must consume bytes on every frame')
      const read = readMbapFrame(buffer, 2)
      if (read.kind === 'incomplete') return
      if (read.kind === 'bad') {
        assert.ok(read.protocol !== 0 || read.length < 2 || read.length > 254, `refused a good header: ${read.reason}`)
        return
      }
      const { unitId, pdu } = read.frame
      assert.ok(pdu.length >= 1 && pdu.length <= 253)
      checkServerAnswer(devices[unitId % devices.length]!, unitId, pdu)
      buffer = read.rest
    }
  },
}

/** The server side of Modbus RTU: createRtuServer's drain loop (frame length from the function code, the rest at the silence), parseRtuRequest, handlePdu. */
export const rtuServerTarget: FuzzTarget<Buffer> = {
  name: 'modbus-rtu-server',
  arbitrary: fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), requestPdu).map(([u, pdu]) => rtu(u, pdu)), { minLength: 1, maxLength: 4 }).map((f) => Buffer.concat(f)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 0, max: 4 }), requestPdu, mutations).map(([u, pdu, m]) => mutate(rtu(u, pdu), m)) },
    { weight: 1, arbitrary: bytes(400) },
  ),
  check(input) {
    let pending = input
    const handle = (frame: Buffer) => {
      const request = parseRtuRequest(frame)
      if (request.kind === 'fragment') return assert.ok(frame.length < 4)
      if (request.kind === 'bad-crc') return assert.notEqual(crc16(frame, frame.length - 2), frame.readUInt16LE(frame.length - 2))
      assert.equal(crc16(frame, frame.length - 2), frame.readUInt16LE(frame.length - 2))
      checkServerAnswer(devices[request.unitId % devices.length]!, request.unitId, request.pdu)
    }
    for (let frames = 0; ; frames++) {
      assert.ok(frames <= input.length, 'the drain loop must consume bytes on every frame')
      const length = rtuRequestLength(pending)
      if (length === null || pending.length < length) break
      assert.ok(length >= 8 && length <= 264, `a frame length of ${length}`)
      handle(pending.subarray(0, length))
      pending = pending.subarray(length)
    }
    if (pending.length) handle(pending)
  },
}

export const modbusTargets = [tcpClientTarget, rtuClientTarget, tcpServerTarget, rtuServerTarget] as const
