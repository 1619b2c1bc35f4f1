// The pure codec shared by core's decoder and the hardware simulator: register sizes,
// raw encode/decode, and SunSpec's "not implemented" sentinels (pysunspec2 sunspec2/mb.py).
import type { SunSpecPointType } from './loadModelDefinition.ts'

export type RawPointValue = number | bigint | string

/** Registers a point of this type occupies (strings: their declared size). */
export function registersOf(type: SunSpecPointType, declaredSize: number): number {
  switch (type) {
    case 'int32': case 'uint32': case 'acc32': case 'enum32': case 'bitfield32':
    case 'float32': case 'ipaddr':
      return 2
    case 'int64': case 'uint64': case 'acc64': case 'bitfield64': case 'float64':
      return 4
    case 'eui48':
      return 4
    case 'ipv6addr':
      return 8
    case 'string':
      return declaredSize
    default:
      return 1
  }
}

/** The raw "not implemented" value of a type, as decodeRaw would return it. */
export function notImplementedOf(type: SunSpecPointType): RawPointValue {
  switch (type) {
    case 'int16': case 'sunssf': return -0x8000
    case 'uint16': case 'enum16': case 'bitfield16': case 'raw16': case 'count': return 0xffff
    case 'acc16': case 'acc32': case 'pad': case 'ipaddr': return 0
    case 'acc64': return 0n
    case 'int32': return -0x80000000
    case 'uint32': case 'enum32': case 'bitfield32': return 0xffffffff
    case 'int64': return -0x8000000000000000n
    case 'uint64': case 'bitfield64': return 0xffffffffffffffffn
    case 'float32': case 'float64': return Number.NaN
    case 'string': case 'ipv6addr': return ''
    case 'eui48': return 0xffffffffffffn
  }
}

/** True when a raw value is the type's "not implemented" sentinel. */
export function isNotImplemented(type: SunSpecPointType, raw: RawPointValue): boolean {
  if (type === 'float32' || type === 'float64') return typeof raw === 'number' && Number.isNaN(raw)
  // acc and pad 0 means "not accumulated yet" as often as "absent"; pysunspec2 treats it as absent.
  return raw === notImplementedOf(type)
}

/** Decodes the registers of one point (big-endian words, high word first). */
export function decodeRaw(type: SunSpecPointType, words: ArrayLike<number>, offset: number, size: number): RawPointValue {
  const w = (i: number) => (words[offset + i] ?? 0) & 0xffff
  switch (type) {
    case 'int16': case 'sunssf': {
      const v = w(0)
      return v >= 0x8000 ? v - 0x10000 : v
    }
    case 'uint16': case 'acc16': case 'enum16': case 'bitfield16': case 'raw16': case 'count': case 'pad':
      return w(0)
    case 'int32': {
      const v = w(0) * 0x10000 + w(1)
      return v >= 0x80000000 ? v - 0x100000000 : v
    }
    case 'uint32': case 'acc32': case 'enum32': case 'bitfield32': case 'ipaddr':
      return w(0) * 0x10000 + w(1)
    case 'int64': case 'uint64': case 'acc64': case 'bitfield64': case 'eui48': {
      let v = 0n
      const n = type === 'eui48' ? 4 : 4
      for (let i = 0; i < n; i++) v = (v << 16n) | BigInt(w(i))
      if (type === 'int64' && v >= 0x8000000000000000n) v -= 0x10000000000000000n
      if (type === 'eui48') v &= 0xffffffffffffn
      return v
    }
    case 'float32': {
      const view = new DataView(new ArrayBuffer(4))
      view.setUint16(0, w(0)); view.setUint16(2, w(1))
      return view.getFloat32(0)
    }
    case 'float64': {
      const view = new DataView(new ArrayBuffer(8))
      for (let i = 0; i < 4; i++) view.setUint16(i * 2, w(i))
      return view.getFloat64(0)
    }
    case 'string': case 'ipv6addr': {
      let text = ''
      for (let i = 0; i < size; i++) text += String.fromCharCode(w(i) >> 8, w(i) & 0xff)
      const nul = text.indexOf('\0')
      return (nul === -1 ? text : text.slice(0, nul)).trimEnd()
    }
  }
}

/** Encodes a raw value into `size` registers at `offset`; integers are wrapped to the type's width. */
export function encodeRaw(type: SunSpecPointType, value: RawPointValue, words: Uint16Array, offset: number, size: number): void {
  switch (type) {
    case 'string': case 'ipv6addr': {
      const text = String(value)
      for (let i = 0; i < size; i++) {
        const hi = text.charCodeAt(i * 2) || 0
        const lo = text.charCodeAt(i * 2 + 1) || 0
        words[offset + i] = ((hi & 0xff) << 8) | (lo & 0xff)
      }
      return
    }
    case 'float32': {
      const view = new DataView(new ArrayBuffer(4))
      view.setFloat32(0, Number(value))
      words[offset] = view.getUint16(0); words[offset + 1] = view.getUint16(2)
      return
    }
    case 'float64': {
      const view = new DataView(new ArrayBuffer(8))
      view.setFloat64(0, Number(value))
      for (let i = 0; i < 4; i++) words[offset + i] = view.getUint16(i * 2)
      return
    }
    default: {
      const n = registersOf(type, size)
      let v = BigInt.asUintN(16 * n, typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value))))
      for (let i = n - 1; i >= 0; i--) {
        words[offset + i] = Number(v & 0xffffn)
        v >>= 16n
      }
    }
  }
}

/** The inclusive range a raw integer of this type can hold, for clamping scaled values. */
export function rangeOf(type: SunSpecPointType): { min: number; max: number } {
  switch (type) {
    case 'int16': case 'sunssf': return { min: -0x7fff, max: 0x7fff }
    case 'uint16': case 'acc16': case 'enum16': case 'bitfield16': case 'raw16': case 'count': return { min: 0, max: 0xfffe }
    case 'int32': return { min: -0x7fffffff, max: 0x7fffffff }
    case 'uint32': case 'acc32': case 'enum32': case 'bitfield32': return { min: 0, max: 0xfffffffe }
    default: return { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }
  }
}
