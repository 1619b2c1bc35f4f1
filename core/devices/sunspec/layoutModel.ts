import { BaseError } from '../../errors/BaseError.ts'
import {
  loadModelDefinition,
  type SunSpecGroupDefinition,
  type SunSpecModelDefinition,
  type SunSpecPointDefinition,
} from './loadModelDefinition.ts'
import { registersOf } from './pointCodec.ts'

/** One point placed in a model: `offset` counts registers from the model's ID register. */
export type LaidOutPoint = {
  /** `W`, or for points in groups `PFWInj.PF`, `module[1].DCA` (repeating groups are indexed). */
  path: string
  definition: SunSpecPointDefinition
  offset: number
  registers: number
  /** Path of the scale-factor point (same group instance first, then model level), if any. */
  sfPath: string | null
  /** A fixed scale factor when the definition gives a number instead of a point name. */
  sfFixed: number | null
}

export type ModelLayout = {
  id: number
  /** Model length L: registers after the ID and L registers. */
  length: number
  points: LaidOutPoint[]
  byPath: Map<string, LaidOutPoint>
}

export type LayoutModelOptions = {
  /** Counts of repeating groups whose count is a point name or 0: group name -> instances. */
  groupCounts?: Record<string, number>
  /** The model length read from the device; fixes "as many as fit" (count 0) groups. */
  length?: number
}

export class SunSpecLayoutError extends BaseError {
  override name = 'SunSpecLayoutError' as const
}

function registersOfGroup(group: SunSpecGroupDefinition): number {
  let total = 0
  for (const point of group.points ?? []) total += registersOf(point.type, point.size)
  for (const sub of group.groups ?? []) total += registersOfGroup(sub) * (typeof sub.count === 'number' && sub.count > 0 ? sub.count : 1)
  return total
}

/** Lays out a SunSpec model from its JSON definition: points first, then nested groups. */
export function layoutModel(modelOrId: number | SunSpecModelDefinition, options: LayoutModelOptions = {}): ModelLayout {
  const model = typeof modelOrId === 'number' ? loadModelDefinition(modelOrId) : modelOrId
  const points: LaidOutPoint[] = []
  const byPath = new Map<string, LaidOutPoint>()
  let cursor = 0

  const place = (group: SunSpecGroupDefinition, prefix: string, scopes: Map<string, string>[]) => {
    const scope = new Map<string, string>()
    for (const point of group.points ?? []) scope.set(point.name, prefix + point.name)
    const chain = [scope, ...scopes]
    for (const point of group.points ?? []) {
      const registers = registersOf(point.type, point.size)
      let sfPath: string | null = null
      let sfFixed: number | null = null
      if (typeof point.sf === 'number') sfFixed = point.sf
      else if (typeof point.sf === 'string') {
        for (const s of chain) {
          const found = s.get(point.sf)
          if (found) {
            sfPath = found
            break
          }
        }
        if (!sfPath) throw new SunSpecLayoutError(`model ${model.id}: point ${prefix}${point.name} names scale factor ${point.sf}, which the model does not define`)
      }
      const laid: LaidOutPoint = { path: prefix + point.name, definition: point, offset: cursor, registers, sfPath, sfFixed }
      points.push(laid)
      byPath.set(laid.path, laid)
      cursor += registers
    }
    for (const sub of group.groups ?? []) {
      const count = groupCount(sub)
      for (let i = 0; i < count; i++) {
        const subPrefix = count === 1 && (sub.count === undefined || sub.count === 1) ? `${prefix}${sub.name}.` : `${prefix}${sub.name}[${i}].`
        place(sub, subPrefix, chain)
      }
    }
  }

  const groupCount = (sub: SunSpecGroupDefinition): number => {
    if (sub.count === undefined) return 1
    if (typeof sub.count === 'number' && sub.count > 0) return sub.count
    const given = options.groupCounts?.[sub.name]
    if (given !== undefined) return given
    if (sub.count === 0 && options.length !== undefined) {
      const fixed = registersOfGroup({ ...model.group, groups: (model.group.groups ?? []).filter((g) => g !== sub) }) - 2
      const each = registersOfGroup({ ...sub, groups: sub.groups ?? [] })
      const fit = (options.length - fixed) / each
      if (!Number.isInteger(fit) || fit < 0) {
        throw new SunSpecLayoutError(`model ${model.id}: length ${options.length} does not fit whole '${sub.name}' groups of ${each} registers after ${fixed} fixed registers`)
      }
      return fit
    }
    throw new SunSpecLayoutError(`model ${model.id}: repeating group '${sub.name}' needs a count (groupCounts.${sub.name})`)
  }

  // The top-level group starts with the ID and L points, which are part of the definition.
  place(model.group, '', [])
  return { id: model.id, length: cursor - 2, points, byPath }
}
