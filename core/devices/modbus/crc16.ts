const table = new Uint16Array(256)
for (let i = 0; i < 256; i++) {
  let c = i
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xa001 : c >>> 1
  table[i] = c
}

/** Modbus RTU CRC-16 (polynomial 0xA001, initial 0xFFFF); sent low byte first. */
export function crc16(bytes: Uint8Array, end = bytes.length): number {
  let crc = 0xffff
  for (let i = 0; i < end; i++) crc = (crc >>> 8) ^ table[(crc ^ bytes[i]!) & 0xff]!
  return crc
}
