import { expectedResponseLength } from './ModbusTransport.ts'

export type CheckResponsePduResult =
  | { kind: 'ok' }
  /** The device answered with a Modbus exception (function code | 0x80, then the code). */
  | { kind: 'exception'; code: number }
  /** Not an answer to this request: wrong function, length or byte count. */
  | { kind: 'bad'; reason: string }

/**
 * Checks a response PDU against its request PDU: an exception, the function code, the
 * length the request implies and, for reads, the byte count. Pure: both transports use
 * it, and it is fuzzed (test/fuzz, bench/fuzz.bench.ts).
 */
export function checkResponsePdu(requestPdu: Buffer, pdu: Buffer): CheckResponsePduResult {
  const fc = requestPdu[0]!
  if (pdu.length === 0) return { kind: 'bad', reason: 'empty PDU' }
  if (pdu[0] === (fc | 0x80)) {
    if (pdu.length !== 2) return { kind: 'bad', reason: `${pdu.length}-byte exception PDU, expected 2` }
    return { kind: 'exception', code: pdu[1]! }
  }
  if (pdu[0] !== fc) return { kind: 'bad', reason: `function 0x${pdu[0]!.toString(16)} in answer to 0x${fc.toString(16)}` }
  const expected = expectedResponseLength(requestPdu)
  if (expected !== null && pdu.length !== expected) return { kind: 'bad', reason: `${pdu.length}-byte PDU, expected ${expected}` }
  if ((fc === 0x03 || fc === 0x04) && pdu[1] !== expected! - 2) return { kind: 'bad', reason: `byte count ${pdu[1]}, expected ${expected! - 2}` }
  return { kind: 'ok' }
}
