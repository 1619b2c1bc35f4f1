import { layoutModel, type LaidOutPoint, type ModelLayout } from '../../core/devices/sunspec/layoutModel.ts'
import { decodeRaw, encodeRaw, isNotImplemented, notImplementedOf, rangeOf } from '../../core/devices/sunspec/pointCodec.ts'

/** Modbus exception codes the simulator answers with. */
export const ModbusException = {
  IllegalFunction: 1,
  IllegalDataAddress: 2,
  IllegalDataValue: 3,
  ServerDeviceFailure: 4,
  GatewayTargetFailedToRespond: 0x0b,
} as const

export type PointRef = { modelId: number; path: string }

type PlacedModel = { start: number; layout: ModelLayout }

export type PointWrite = PointRef & { value: number | string | bigint | null }

/**
 * A device's SunSpec register image, laid out from the JSON model definitions: 'SunS' at
 * the base, the model chain, and the 0xFFFF end marker. Values are set and read in
 * engineering units; scale factors and "not implemented" sentinels are applied here.
 */
export class SunSpecImage {
  readonly base: number
  readonly words: Uint16Array
  private readonly models = new Map<number, PlacedModel>()
  /** Register offset (from base) -> the point that starts or covers it, for writes. */
  private readonly pointAt: (LaidOutPoint & { modelId: number; start: number })[] = []
  private readonly writable = new Set<string>()
  /** Big-endian copy of `words` for reads; rebuilt lazily after changes (reads far outnumber refreshes). */
  private bytes: Buffer = Buffer.alloc(0)
  private dirty = true

  constructor(base: number, modelIds: readonly number[]) {
    this.base = base
    const layouts = modelIds.map((id) => layoutModel(id))
    const total = 2 + layouts.reduce((sum, l) => sum + l.length + 2, 0) + 2
    this.words = new Uint16Array(total)
    this.words[0] = 0x5375 // 'Su'
    this.words[1] = 0x6e53 // 'nS'
    let cursor = 2
    for (const layout of layouts) {
      if (this.models.has(layout.id)) throw new Error(`model ${layout.id} appears twice in one device`)
      this.models.set(layout.id, { start: cursor, layout })
      for (const point of layout.points) {
        const placed = { ...point, modelId: layout.id, start: cursor + point.offset }
        for (let r = 0; r < point.registers; r++) this.pointAt[cursor + point.offset + r] = placed
        encodeRaw(point.definition.type, notImplementedOf(point.definition.type), this.words, cursor + point.offset, point.registers)
      }
      this.words[cursor] = layout.id
      this.words[cursor + 1] = layout.length
      cursor += layout.length + 2
    }
    this.words[cursor] = 0xffff
    this.words[cursor + 1] = 0
  }

  get length(): number {
    return this.words.length
  }

  private point(modelId: number, path: string): { model: PlacedModel; point: LaidOutPoint } {
    const model = this.models.get(modelId)
    const point = model?.layout.byPath.get(path)
    if (!model || !point) throw new Error(`this device has no point ${modelId}.${path}`)
    return { model, point }
  }

  /** The PDU address of a point's first register. */
  addressOf(modelId: number, path: string): number {
    const { model, point } = this.point(modelId, path)
    return this.base + model.start + point.offset
  }

  /** Lets Modbus writes reach these points (all others answer Illegal Data Address). */
  allowWrites(modelId: number, paths: readonly string[]): void {
    for (const path of paths) {
      this.point(modelId, path)
      this.writable.add(`${modelId}.${path}`)
    }
  }

  private scaleOf(model: PlacedModel, point: LaidOutPoint): number | null {
    if (point.sfFixed !== null) return point.sfFixed
    if (point.sfPath === null) return 0
    const sfPoint = model.layout.byPath.get(point.sfPath)!
    const sf = decodeRaw('sunssf', this.words, model.start + sfPoint.offset, 1) as number
    return isNotImplemented('sunssf', sf) ? null : sf
  }

  /** Sets a point in engineering units (scaled by its scale factor); null writes the sentinel. */
  set(modelId: number, path: string, value: number | string | bigint | null): void {
    this.dirty = true
    const { model, point } = this.point(modelId, path)
    const type = point.definition.type
    const at = model.start + point.offset
    if (value === null) {
      encodeRaw(type, notImplementedOf(type), this.words, at, point.registers)
      return
    }
    if (typeof value === 'string' || typeof value === 'bigint') {
      encodeRaw(type, value, this.words, at, point.registers)
      return
    }
    const sf = this.scaleOf(model, point) ?? 0
    const { min, max } = rangeOf(type)
    const raw = Math.min(max, Math.max(min, Math.round(value / 10 ** sf)))
    encodeRaw(type, raw, this.words, at, point.registers)
  }

  /** Reads a point in engineering units; null for "not implemented". */
  get(modelId: number, path: string): number | string | bigint | null {
    const { model, point } = this.point(modelId, path)
    return this.decode(model, point, this.words)
  }

  private decode(model: PlacedModel, point: LaidOutPoint, words: ArrayLike<number>): number | string | bigint | null {
    const type = point.definition.type
    const raw = decodeRaw(type, words, model.start + point.offset, point.registers)
    if (isNotImplemented(type, raw)) return null
    if (typeof raw !== 'number') return raw
    const sf = this.scaleOf(model, point)
    if (sf === null) return null
    return sf === 0 ? raw : Number((raw * 10 ** sf).toFixed(Math.max(0, -sf)))
  }

  /** `count` registers from a PDU address as big-endian bytes (a view: copy before keeping), or null if out of range. */
  read(address: number, count: number): Buffer | null {
    const from = address - this.base
    if (from < 0 || from + count > this.words.length) return null
    if (this.dirty) {
      if (this.bytes.length !== this.words.length * 2) this.bytes = Buffer.alloc(this.words.length * 2)
      for (let i = 0; i < this.words.length; i++) this.bytes.writeUInt16BE(this.words[i]!, i * 2)
      this.dirty = false
    }
    return this.bytes.subarray(from * 2, (from + count) * 2)
  }

  /**
   * Decodes a write of registers into the point values it sets, without changing the
   * image. Returns an exception code when a register is outside the image or read-only.
   */
  decodeWrite(address: number, values: readonly number[]): PointWrite[] | number {
    const from = address - this.base
    if (from < 0 || from + values.length > this.words.length) return ModbusException.IllegalDataAddress
    const staged = Uint16Array.from(this.words)
    const touched = new Map<string, LaidOutPoint & { modelId: number; start: number }>()
    for (let i = 0; i < values.length; i++) {
      const point = this.pointAt[from + i]
      if (!point || !this.writable.has(`${point.modelId}.${point.path}`)) return ModbusException.IllegalDataAddress
      staged[from + i] = values[i]!
      touched.set(`${point.modelId}.${point.path}`, point)
    }
    return [...touched.values()].map((point) => {
      const model = this.models.get(point.modelId)!
      return { modelId: point.modelId, path: point.path, value: this.decode(model, point, staged) }
    })
  }

  /** Stores registers already validated by decodeWrite. */
  commitWrite(address: number, values: readonly number[]): void {
    this.dirty = true
    this.words.set(values, address - this.base)
  }
}

/** The smallest scale factor (>= minSf) at which `maxAbs` still fits the type's raw range. */
export function scaleFactorFor(maxAbs: number, type: 'int16' | 'uint16' | 'int32' | 'uint32' | 'acc32', minSf = -3): number {
  const { max } = rangeOf(type)
  let sf = minSf
  while (maxAbs / 10 ** sf > max) sf++
  return sf
}
