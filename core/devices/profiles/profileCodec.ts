// The pure codec of profile points, shared by the generic driver and the simulator:
// word order, scale (or a power-of-ten scale register), sign inversion, "not available".
import { decodeRaw, encodeRaw } from '../sunspec/pointCodec.ts'
import { registersOfPointType, type ProfilePoint, type ProfilePointType } from './profileSchema.ts'

type Order = 'big' | 'little'

const integerRange: Record<Exclude<ProfilePointType, 'float32'>, { min: number; max: number }> = {
  int16: { min: -0x8000, max: 0x7fff },
  uint16: { min: 0, max: 0xffff },
  int32: { min: -0x80000000, max: 0x7fffffff },
  uint32: { min: 0, max: 0xffffffff },
  int64: { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER },
  uint64: { min: 0, max: Number.MAX_SAFE_INTEGER },
}

/** The multiplier from raw to the point's unit, or null when its scale register is "not available". */
export function multiplierOf(point: ProfilePoint, scaleExponent: number | null = null): number | null {
  if (point.scaleRegister === undefined) return point.scale ?? 1
  return scaleExponent === null ? null : 10 ** scaleExponent
}

/** Decodes a point from its registers (as read, in wire order) into GridMesh units and signs; null for "not available". */
export function decodeProfileValue(point: ProfilePoint, words: ArrayLike<number>, defaultOrder: Order, scaleExponent: number | null = null): number | null {
  const count = registersOfPointType(point.type)
  const ordered = Array.from({ length: count }, (_, i) => words[i] ?? 0)
  if ((point.wordOrder ?? defaultOrder) === 'little') ordered.reverse()
  const decoded = decodeRaw(point.type, ordered, 0, count)
  const raw = typeof decoded === 'bigint' ? Number(decoded) : Number(decoded)
  if (Number.isNaN(raw) || (point.notAvailable !== undefined && raw === point.notAvailable)) return null
  const multiplier = multiplierOf(point, scaleExponent)
  if (multiplier === null || !Number.isFinite(raw)) return null
  // Integer registers times a decimal multiplier: drop the binary noise (3 * 0.1), keep float32 as sent.
  const value = point.type === 'float32' ? raw * multiplier : Number((raw * multiplier).toPrecision(12))
  const signed = point.invert ? -value : value
  return signed === 0 ? 0 : signed
}

/** Encodes a value in GridMesh units and signs into the point's registers (wire order); integers round and saturate. */
export function encodeProfileValue(point: ProfilePoint, value: number, defaultOrder: Order, scaleExponent: number | null = null): Uint16Array {
  const count = registersOfPointType(point.type)
  const words = new Uint16Array(count)
  const multiplier = multiplierOf(point, scaleExponent) ?? 1
  const raw = (point.invert ? -value : value) / multiplier
  if (point.type === 'float32') encodeRaw('float32', raw, words, 0, count)
  else {
    const { min, max } = integerRange[point.type]
    encodeRaw(point.type, Math.min(max, Math.max(min, Math.round(raw))), words, 0, count)
  }
  if ((point.wordOrder ?? defaultOrder) === 'little') words.reverse()
  return words
}

/** The registers of the point's "not available" value (NaN for floats), in wire order. */
export function notAvailableWords(point: ProfilePoint, defaultOrder: Order): Uint16Array {
  const count = registersOfPointType(point.type)
  const words = new Uint16Array(count)
  if (point.type === 'float32') encodeRaw('float32', Number.NaN, words, 0, count)
  else encodeRaw(point.type, point.notAvailable ?? integerRange[point.type].max, words, 0, count)
  if ((point.wordOrder ?? defaultOrder) === 'little') words.reverse()
  return words
}
