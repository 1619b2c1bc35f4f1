import { crc16 } from '../../core/devices/modbus/crc16.ts'

export type ParsedRtuRequest =
  | { kind: 'fragment'; length: number }
  | { kind: 'bad-crc' }
  | { kind: 'request'; unitId: number; pdu: Buffer }

/** One RTU request frame (unit, PDU, CRC-16 little-endian) as the server reads it; pure, and fuzzed. */
export function parseRtuRequest(frame: Buffer): ParsedRtuRequest {
  if (frame.length < 4) return { kind: 'fragment', length: frame.length }
  if (crc16(frame, frame.length - 2) !== frame.readUInt16LE(frame.length - 2)) return { kind: 'bad-crc' }
  return { kind: 'request', unitId: frame[0]!, pdu: frame.subarray(1, frame.length - 2) }
}
