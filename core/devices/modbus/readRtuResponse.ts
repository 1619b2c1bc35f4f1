import { checkResponsePdu } from './checkResponsePdu.ts'
import { crc16 } from './crc16.ts'
import { expectedResponseLength } from './ModbusTransport.ts'

export type ReadRtuResponseResult =
  | { kind: 'incomplete' }
  | { kind: 'ok'; pdu: Buffer }
  | { kind: 'exception'; code: number }
  | { kind: 'bad'; reason: string }

/**
 * Reads the answer to one RTU request from the bytes received so far (unit, PDU, CRC-16
 * little-endian): its length follows from the request, or 5 bytes for an exception.
 * Pure: the RTU client uses it, and it is fuzzed (test/fuzz, bench/fuzz.bench.ts).
 */
export function readRtuResponse(buffer: Buffer, unitId: number, requestPdu: Buffer): ReadRtuResponseResult {
  if (buffer.length < 5) return { kind: 'incomplete' }
  const fc = requestPdu[0]!
  const isException = buffer[1] === (fc | 0x80)
  // An unknown function's answer has no length to expect: it is what has arrived.
  const total = isException ? 5 : 3 + (expectedResponseLength(requestPdu) ?? buffer.length - 3)
  if (buffer.length < total) return { kind: 'incomplete' }
  const frame = buffer.subarray(0, total)
  if (crc16(frame, total - 2) !== frame.readUInt16LE(total - 2)) return { kind: 'bad', reason: `bad CRC in ${frame.toString('hex')}` }
  if (frame[0] !== unitId) return { kind: 'bad', reason: `unit ${frame[0]} answered a request to unit ${unitId}` }
  const pdu = frame.subarray(1, total - 2)
  const checked = checkResponsePdu(requestPdu, pdu)
  return checked.kind === 'ok' ? { kind: 'ok', pdu: Buffer.from(pdu) } : checked
}
