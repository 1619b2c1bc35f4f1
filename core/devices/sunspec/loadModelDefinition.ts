import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { dirname, join } from 'node:path'
import { BaseError } from '../../errors/BaseError.ts'

/** A point as the SunSpec JSON definitions describe it (the fields GridMesh uses). */
export type SunSpecPointDefinition = {
  name: string
  type: SunSpecPointType
  size: number
  sf?: string | number
  access?: 'R' | 'RW'
  mandatory?: 'M' | 'O'
  static?: 'S' | 'D'
  units?: string
  label?: string
  value?: number | string
  symbols?: { name: string; value: number }[]
}

export type SunSpecGroupDefinition = {
  name: string
  type: 'group' | 'sync'
  /** 1 when absent; a number, the name of a count point, or 0 for "as many as fit in L". */
  count?: number | string
  points?: SunSpecPointDefinition[]
  groups?: SunSpecGroupDefinition[]
}

export type SunSpecModelDefinition = { id: number; group: SunSpecGroupDefinition; label?: string }

export type SunSpecPointType =
  | 'int16' | 'int32' | 'int64' | 'raw16' | 'uint16' | 'uint32' | 'uint64'
  | 'acc16' | 'acc32' | 'acc64' | 'bitfield16' | 'bitfield32' | 'bitfield64'
  | 'enum16' | 'enum32' | 'float32' | 'float64' | 'string' | 'pad'
  | 'ipaddr' | 'ipv6addr' | 'eui48' | 'sunssf' | 'count'

export class UnknownSunSpecModelError extends BaseError {
  override name = 'UnknownSunSpecModelError' as const
  constructor({ modelId, cause }: { modelId: number; cause?: unknown }) {
    super(`SunSpec model ${modelId} has no definition in core/devices/sunspec/models/`, { cause })
  }
}

const modelsDir = join(dirname(fileURLToPath(import.meta.url)), 'models')
const cache = new Map<number, SunSpecModelDefinition>()

/** Loads the JSON definition of one SunSpec model (cached); throws UnknownSunSpecModelError. */
export function loadModelDefinition(modelId: number): SunSpecModelDefinition {
  const cached = cache.get(modelId)
  if (cached) return cached
  let definition: SunSpecModelDefinition
  try {
    definition = JSON.parse(readFileSync(join(modelsDir, `model_${modelId}.json`), 'utf8')) as SunSpecModelDefinition
  } catch (cause) {
    throw new UnknownSunSpecModelError({ modelId, cause })
  }
  cache.set(modelId, definition)
  return definition
}
