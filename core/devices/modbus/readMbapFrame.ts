/** One Modbus TCP application data unit: the MBAP header's transaction and unit, and the PDU. */
export type MbapFrame = { transaction: number; unitId: number; pdu: Buffer }

export type ReadMbapFrameResult =
  | { kind: 'incomplete' }
  /** A header no peer sends (protocol not 0, impossible length): the stream cannot be resynchronised. */
  | { kind: 'bad'; protocol: number; length: number; reason: string }
  | { kind: 'frame'; frame: MbapFrame; rest: Buffer }

/** Largest PDU (Modbus application protocol 4.1): 253 bytes, so at most 254 after the unit byte. */
const maxLength = 254

/**
 * Splits the first MBAP frame off the front of a byte stream (transaction, protocol 0,
 * length of unit + PDU, unit, PDU). `minLength` is the smallest length field accepted:
 * 2 for a request (unit and function), 3 for a response (a PDU has at least two bytes).
 * Pure: the TCP client and the simulator's server both frame with it, and it is fuzzed.
 */
export function readMbapFrame(buffer: Buffer, minLength: number): ReadMbapFrameResult {
  if (buffer.length < 7) return { kind: 'incomplete' }
  const protocol = buffer.readUInt16BE(2)
  const length = buffer.readUInt16BE(4)
  if (protocol !== 0 || length < minLength || length > maxLength) {
    return { kind: 'bad', protocol, length, reason: `MBAP header with protocol ${protocol} and length ${length}` }
  }
  if (buffer.length < 6 + length) return { kind: 'incomplete' }
  return {
    kind: 'frame',
    frame: { transaction: buffer.readUInt16BE(0), unitId: buffer[6]!, pdu: buffer.subarray(7, 6 + length) },
    rest: buffer.subarray(6 + length),
  }
}
