import type { LaidOutPoint, ModelLayout } from './layoutModel.ts'
import { decodeRaw, isNotImplemented } from './pointCodec.ts'

export type PointValue = number | string | bigint | null

/** A decoded point: the engineering value (null when not implemented) with its unit. */
export type DecodedPoint = { value: PointValue; units: string | null; point: LaidOutPoint }

/**
 * Decodes every point of a model from its registers (`words[0]` is the model's ID
 * register). Scale factors are applied; "not implemented" values and points whose scale
 * factor is not implemented become null, never a number.
 */
export function decodeModel(layout: ModelLayout, words: ArrayLike<number>): Map<string, DecodedPoint> {
  const raw = new Map<string, ReturnType<typeof decodeRaw>>()
  for (const point of layout.points) raw.set(point.path, decodeRaw(point.definition.type, words, point.offset, point.registers))
  const out = new Map<string, DecodedPoint>()
  for (const point of layout.points) {
    const type = point.definition.type
    const value = raw.get(point.path)!
    const units = point.definition.units ?? null
    // As pysunspec2 does, an accumulator reading 0 counts as not implemented; a pad is never a value.
    const absent = isNotImplemented(type, value)
    if (absent) {
      out.set(point.path, { value: null, units, point })
      continue
    }
    if (typeof value !== 'number' || type === 'sunssf' || type === 'float32' || type === 'float64') {
      out.set(point.path, { value, units, point })
      continue
    }
    let sf = point.sfFixed ?? 0
    if (point.sfPath) {
      const sfRaw = raw.get(point.sfPath)
      if (typeof sfRaw !== 'number' || isNotImplemented('sunssf', sfRaw) || sfRaw < -10 || sfRaw > 10) {
        out.set(point.path, { value: null, units, point })
        continue
      }
      sf = sfRaw
    }
    out.set(point.path, { value: sf === 0 ? value : Number((value * 10 ** sf).toFixed(Math.max(0, -sf))), units, point })
  }
  return out
}
