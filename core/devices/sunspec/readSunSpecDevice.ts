import { BaseError } from '../../errors/BaseError.ts'
import type { ModbusClient, RequestOptions } from '../modbus/createModbusClient.ts'
import { ModbusExceptionError } from '../modbus/errors.ts'
import { decodeModel, type DecodedPoint } from './decodeModel.ts'
import { layoutModel, type ModelLayout } from './layoutModel.ts'
import { loadModelDefinition, type SunSpecModelDefinition } from './loadModelDefinition.ts'

/** Where SunSpec devices put their map, in the order pysunspec2 tries them (README of the definitions says 40000, 0, 50000; the issue asks 40000, 50000, 0). */
export const sunSpecBases = [40000, 50000, 0] as const

export type DiscoveredModel = {
  id: number
  /** PDU address of the model's ID register. */
  address: number
  /** L as the device reports it. */
  length: number
  /** False for a model without a definition here: listed and skipped. */
  known: boolean
  name: string | null
}

export type SunSpecDiscovery = { unitId: number; base: number; models: DiscoveredModel[] }

export class SunSpecDiscoveryError extends BaseError {
  override name = 'SunSpecDiscoveryError' as const
}

const maxModels = 64

/**
 * Finds a SunSpec map: tries each base for 'SunS', then walks the model chain (ID, L)
 * to 0xFFFF. Returns null when no base answers 'SunS'. Transport errors other than
 * exceptions (timeouts, refused connections) propagate: "absent" and "dead" differ.
 */
export async function discoverSunSpec(client: ModbusClient, unitId: number, options: RequestOptions & { bases?: readonly number[] } = {}): Promise<SunSpecDiscovery | null> {
  for (const base of options.bases ?? sunSpecBases) {
    let marker: Uint16Array
    try {
      marker = await client.readHoldingRegisters(unitId, base, 2, options)
    } catch (error) {
      if (error instanceof ModbusExceptionError && error.code !== 11 && error.code !== 10) continue // no map at this base
      throw error
    }
    if (marker[0] !== 0x5375 || marker[1] !== 0x6e53) continue
    const models: DiscoveredModel[] = []
    let address = base + 2
    for (;;) {
      if (models.length > maxModels) throw new SunSpecDiscoveryError(`${client.transport.endpoint} unit ${unitId}: more than ${maxModels} models after base ${base}; the chain does not end`)
      if (address + 2 > 0x10000) throw new SunSpecDiscoveryError(`${client.transport.endpoint} unit ${unitId}: the model chain runs past address 65535 without the 0xFFFF end marker`)
      const [id] = await client.readHoldingRegisters(unitId, address, 1, options)
      if (id === 0xffff) break
      // L is read on its own: some devices do not answer a read that spans the end marker.
      const [length] = await client.readHoldingRegisters(unitId, address + 1, 1, options)
      let definition: SunSpecModelDefinition | null = null
      try {
        definition = loadModelDefinition(id!)
      } catch {
        definition = null
      }
      models.push({ id: id!, address, length: length!, known: definition !== null, name: definition?.group.name ?? null })
      address += 2 + length!
    }
    return { unitId, base, models }
  }
  return null
}

export type DecodedModel = {
  id: number
  name: string
  address: number
  length: number
  points: Map<string, DecodedPoint>
  /** Why a known model could not be decoded (its length fits no layout), else null. */
  problem: string | null
}

/** Lays out a model as the device sizes it: repeating groups from L or from their count points. */
function layoutFor(id: number, length: number, words: ArrayLike<number>): ModelLayout {
  const definition = loadModelDefinition(id)
  const counted = (definition.group.groups ?? []).filter((g) => typeof g.count === 'string')
  if (counted.length === 0) return layoutModel(definition, { length })
  // Count points sit in the fixed part: lay out with no instances, read them, lay out again.
  const groupCounts = Object.fromEntries(counted.map((g) => [g.name, 0]))
  const bare = decodeModel(layoutModel(definition, { groupCounts, length }), words)
  for (const g of counted) {
    const n = bare.get(g.count as string)?.value
    groupCounts[g.name] = typeof n === 'number' && n >= 0 && n < 1000 ? n : 0
  }
  return layoutModel(definition, { groupCounts, length })
}

/** Reads and decodes the known models of a discovered device (block reads of up to 125 registers). */
export async function readSunSpecModels(client: ModbusClient, discovery: SunSpecDiscovery, options: RequestOptions & { only?: readonly number[] } = {}): Promise<DecodedModel[]> {
  const out: DecodedModel[] = []
  for (const model of discovery.models) {
    if (!model.known || (options.only && !options.only.includes(model.id))) continue
    const words = new Uint16Array(model.length + 2)
    for (let offset = 0; offset < words.length; offset += 125) {
      const count = Math.min(125, words.length - offset)
      words.set(await client.readHoldingRegisters(discovery.unitId, model.address + offset, count, options), offset)
    }
    let points = new Map<string, DecodedPoint>()
    let problem: string | null = null
    try {
      const layout = layoutFor(model.id, model.length, words)
      const last = layout.points.at(-1)
      const padOnly = last?.definition.type === 'pad' && layout.length - last.registers === model.length
      if (layout.length !== model.length && !padOnly) problem = `the device reports L=${model.length}, the definition lays out ${layout.length} registers`
      points = decodeModel(layout, words)
    } catch (error) {
      problem = (error as Error).message
    }
    out.push({ id: model.id, name: model.name ?? String(model.id), address: model.address, length: model.length, points, problem })
  }
  return out
}
