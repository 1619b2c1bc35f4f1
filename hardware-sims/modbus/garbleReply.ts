import { hashUnit } from '../physics/clouds.ts'

/**
 * A reply a broken device or a noisy line might send instead of `reply`: the n-th draw of
 * a seeded sequence picks one of four shapes a client must refuse, so a fault campaign
 * with the same seed sends the same garbage. The frame around it (MBAP or RTU CRC) stays
 * valid: this is garbage a device produced, not a torn packet.
 */
export function garbleReply(request: Buffer, reply: Buffer, seed: number, n: number): Buffer {
  const fc = request[0] ?? 0
  const draw = (k: number) => hashUnit(seed, n * 8 + k)
  switch (Math.floor(draw(0) * 4)) {
    case 0: {
      // Random bytes of a random length: usually an unknown function code.
      const out = Buffer.alloc(1 + Math.floor(draw(1) * 12))
      for (let i = 0; i < out.length; i++) out[i] = Math.floor(hashUnit(seed ^ 0x5bd1e995, n * 64 + i) * 256)
      return out
    }
    case 1:
      // The right function code with a byte count that disagrees with the data.
      return reply.length > 2 && (fc === 0x03 || fc === 0x04) ? Buffer.concat([Buffer.from([fc, (reply[1]! + 2) & 0xff]), reply.subarray(2)]) : Buffer.from([fc ^ 0x20, 0x00])
    case 2:
      // Another function's answer (a reply meant for a different request).
      return Buffer.from([fc === 0x03 ? 0x04 : 0x03, 0x02, 0x12, 0x34])
    default:
      // Cut short: the header without the data it announces.
      return reply.length > 2 ? Buffer.from(reply.subarray(0, 2)) : Buffer.from([fc])
  }
}
