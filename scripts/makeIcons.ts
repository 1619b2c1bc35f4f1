// Writes the app's icons (build/icon.png 512 px, icon.ico, icon.icns) from code, so no
// image tool is needed: a green disc with a dark lightning bolt on the HMI's slate.
// node bin/run-ts.js scripts/makeIcons.ts
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { deflateSync } from 'node:zlib'

const out = fileURLToPath(new URL('../build', import.meta.url))

const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})
const crc32 = (buf: Buffer) => {
  let c = 0xffffffff
  for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}
const chunk = (type: string, data: Buffer) => {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([len, body, crc])
}

/** Point-in-polygon (even-odd) for the bolt. */
const inside = (x: number, y: number, poly: [number, number][]) => {
  let hit = false
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!
    const [xj, yj] = poly[j]!
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit
  }
  return hit
}
const bolt: [number, number][] = [[0.55, 0.2], [0.33, 0.57], [0.49, 0.57], [0.44, 0.8], [0.67, 0.43], [0.51, 0.43], [0.59, 0.2]]

function png(size: number): Buffer {
  const rows: Buffer[] = []
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4)
    for (let x = 0; x < size; x++) {
      const u = (x + 0.5) / size
      const v = (y + 0.5) / size
      const r = Math.hypot(u - 0.5, v - 0.5)
      const [red, green, blue, alpha] = r > 0.47 ? [0, 0, 0, 0] : inside(u, v, bolt) ? [15, 23, 42, 255] : r > 0.38 ? [15, 23, 42, 255] : [34, 197, 94, 255]
      row.set([red, green, blue, alpha], 1 + x * 4)
    }
    rows.push(row)
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(size, 0)
  header.writeUInt32BE(size, 4)
  header.set([8, 6, 0, 0, 0], 8) // 8-bit RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(Buffer.concat(rows))), chunk('IEND', Buffer.alloc(0))])
}

mkdirSync(out, { recursive: true })
const big = png(512)
const mid = png(256)
writeFileSync(join(out, 'icon.png'), big)
// ICO with one embedded 256 px PNG (0 in the size bytes means 256).
const icoHeader = Buffer.alloc(6 + 16)
icoHeader.writeUInt16LE(0, 0)
icoHeader.writeUInt16LE(1, 2)
icoHeader.writeUInt16LE(1, 4)
icoHeader.set([0, 0, 0, 0], 6)
icoHeader.writeUInt16LE(1, 10)
icoHeader.writeUInt16LE(32, 12)
icoHeader.writeUInt32LE(mid.length, 14)
icoHeader.writeUInt32LE(22, 18)
writeFileSync(join(out, 'icon.ico'), Buffer.concat([icoHeader, mid]))
// ICNS with ic08 (256 px) and ic09 (512 px) PNG entries.
const entry = (type: string, data: Buffer) => {
  const head = Buffer.alloc(8)
  head.write(type, 0, 'ascii')
  head.writeUInt32BE(data.length + 8, 4)
  return Buffer.concat([head, data])
}
const body = Buffer.concat([entry('ic08', mid), entry('ic09', big)])
const icnsHead = Buffer.alloc(8)
icnsHead.write('icns', 0, 'ascii')
icnsHead.writeUInt32BE(body.length + 8, 4)
writeFileSync(join(out, 'icon.icns'), Buffer.concat([icnsHead, body]))
process.stderr.write(`icons: ${out}/icon.png (512), icon.ico, icon.icns\n`)
