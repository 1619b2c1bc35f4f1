import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { decodeProfileValue, encodeProfileValue, notAvailableWords } from '../../core/devices/profiles/profileCodec.ts'
import { profileSchema, readRoleUnits, registersOfPointType, type Profile, type ProfilePoint, type ReadBinding, type ReadRole, type WriteBinding } from '../../core/devices/profiles/profileSchema.ts'
import { BaseError } from '../../core/errors/BaseError.ts'
import { socPctOf, type BatteryState, type InverterState, type SitePhysics } from '../physics/sitePhysics.ts'
import type { DeviceConfig, SiteConfig } from '../site/siteSchema.ts'
import { gridFrequency, gridVoltage, rejection, type RegisterImage, type SimDevice, type WriteRejection } from './SimDevice.ts'
import { ModbusException, type PointWrite } from './SunSpecImage.ts'

/** The bundled profiles, read as data (the simulator never uses core's client or drivers). */
export const profilesDir = fileURLToPath(new URL('../../core/devices/profiles/', import.meta.url))

export class ProfileDeviceError extends BaseError {
  override name = 'ProfileDeviceError' as const
}

/** Phase shares of the site's power, as the SunSpec meter splits it. */
const phaseShare = [0.4, 0.33, 0.27] as const

type Fn = 'holding' | 'input'

/** One unit ID's registers: holding and input maps, which addresses the profile defines, and its points. */
class UnitRegisters {
  readonly words: Record<Fn, Uint16Array> = { holding: new Uint16Array(0x10000), input: new Uint16Array(0x10000) }
  private readonly defined: Record<Fn, Uint8Array> = { holding: new Uint8Array(0x10000), input: new Uint8Array(0x10000) }
  private readonly bounds: Record<Fn, { min: number; max: number }> = { holding: { min: Infinity, max: -Infinity }, input: { min: Infinity, max: -Infinity } }
  /** Holding address -> the writable point covering it. */
  readonly writableAt = new Map<number, ProfilePoint>()

  constructor(private readonly maxReadGap: number) {}

  add(point: ProfilePoint, writable: boolean): void {
    const count = registersOfPointType(point.type)
    for (let r = 0; r < count; r++) {
      this.defined[point.function][point.address + r] = 1
      if (writable) this.writableAt.set(point.address + r, point)
    }
    const b = this.bounds[point.function]
    b.min = Math.min(b.min, point.address)
    b.max = Math.max(b.max, point.address + count - 1)
  }

  /** Registers as big-endian bytes, or null (Illegal Data Address) for what the device would refuse. */
  read(fn: Fn, address: number, count: number): Buffer | null {
    if (address + count > 0x10000) return null
    if (this.maxReadGap === 0) {
      for (let a = address; a < address + count; a++) if (!this.defined[fn][a]) return null
    } else if (address < this.bounds[fn].min || address + count - 1 > this.bounds[fn].max) return null
    const out = Buffer.allocUnsafe(count * 2)
    for (let i = 0; i < count; i++) out.writeUInt16BE(this.words[fn][address + i]!, i * 2)
    return out
  }
}

/**
 * A device served with a profile's registers (holding and input, the profile's types, word
 * order, scale and sign) on top of the site's physics: meter roles show the grid connection,
 * pv roles the device's inverter (or the site's first), battery roles its battery (or the
 * first). Writes to the profile's writable roles change the physics, with the device's
 * command timeout; writes to other writable points are stored.
 */
export function createProfileDevice(config: DeviceConfig, site: SiteConfig, dir: string = profilesDir): SimDevice {
  const profile = readProfile(config.profile!, config.name, dir)
  const order = profile.defaults.wordOrder
  const primaryUnit = config.transport.unitId
  const unitIds = new Map<string, number>(Object.entries(profile.defaults.modbusUnits))
  for (const [unitName, id] of unitIds) {
    if (id === primaryUnit) throw new ProfileDeviceError(`device '${config.name}': profile unit '${unitName}' (${id}) is the device's own unit ID; choose another transport.unitId`)
  }
  const unitOf = (p: ProfilePoint) => (p.modbusUnit === undefined ? primaryUnit : unitIds.get(p.modbusUnit)!)
  const units = new Map<number, UnitRegisters>()
  const points = new Map<string, ProfilePoint>()
  for (const [list, writable] of [[profile.readings, false], [profile.writes, true]] as const) {
    for (const p of list) {
      points.set(p.name, p)
      const unitId = unitOf(p)
      if (!units.has(unitId)) units.set(unitId, new UnitRegisters(profile.defaults.maxReadGap))
      units.get(unitId)!.add(p, writable)
    }
  }
  if (!units.has(primaryUnit)) units.set(primaryUnit, new UnitRegisters(profile.defaults.maxReadGap))

  const pointNamed = (pointName: string): ProfilePoint => {
    const p = points.get(pointName)
    if (!p) throw new Error(`this device has no point ${pointName}`)
    return p
  }
  const scaleExponentOf = (p: ProfilePoint): number | null =>
    p.scaleRegister === undefined ? null : decodeProfileValue(points.get(p.scaleRegister)!, wordsOf(points.get(p.scaleRegister)!), order)
  const wordsOf = (p: ProfilePoint, words = units.get(unitOf(p))!.words[p.function]) =>
    Array.from({ length: registersOfPointType(p.type) }, (_, i) => words[p.address + i]!)
  const store = (p: ProfilePoint, words: ArrayLike<number>) => units.get(unitOf(p))!.words[p.function].set(words, p.address)
  const setValue = (p: ProfilePoint, value: number) => store(p, encodeProfileValue(p, value, order, scaleExponentOf(p)))

  const limit = profile.roles['pv.limitPct']
  const setpoint = profile.roles['battery.setpointW']
  for (const binding of [limit, setpoint]) {
    if (!binding) continue
    setValue(pointNamed(binding.release.point), binding.release.value)
    if (binding.enable && binding.enable.point !== binding.release.point) setValue(pointNamed(binding.enable.point), binding.release.value)
  }

  const inverterOf = (physics: SitePhysics): InverterState | undefined =>
    config.kind === 'inverter' ? physics.inverters.find((i) => i.config.name === config.name) : physics.inverters[0]
  const batteryOf = (physics: SitePhysics): BatteryState | undefined =>
    config.kind === 'battery' ? physics.batteries.find((b) => b.config.name === config.name) : physics.batteries[0]
  const commandTimeoutMs = ('commandTimeoutS' in config ? config.commandTimeoutS : 60) * 1000

  /** The value each point of a read role shows: sums split over phases, means per phase. */
  function fillRole(role: ReadRole, binding: ReadBinding, physics: SitePhysics): void {
    const t = physics.timeMs
    const inv = inverterOf(physics)
    const bat = batteryOf(physics)
    const total: number | null =
      role === 'meter.powerW' ? physics.gridW
      : role === 'meter.importWh' ? physics.energy.gridImportWh
      : role === 'meter.exportWh' ? physics.energy.gridExportWh
      : role === 'meter.frequencyHz' ? gridFrequency(t)
      : role === 'meter.voltageV' ? gridVoltage(t, 0)
      : role === 'pv.powerW' ? (inv?.powerW ?? null)
      : role === 'pv.energyWh' ? (inv?.energyWh ?? null)
      : role === 'battery.powerW' ? (bat?.powerW ?? null)
      : bat ? socPctOf(bat) : null
    const n = binding.points.length
    binding.points.forEach((pointName, i) => {
      const p = pointNamed(pointName)
      if (total === null) return store(p, notAvailableWords(p, order))
      if (binding.combine === 'mean') return setValue(p, role === 'meter.voltageV' ? gridVoltage(t, i) : total)
      setValue(p, n === 1 ? total : total * (n === 3 ? phaseShare[i]! : 1 / n))
    })
  }

  function validate(writes: PointWrite[], physics: SitePhysics): WriteRejection | null {
    for (const w of writes) {
      const v = Number(w.value)
      if (w.value === null || !Number.isFinite(v)) return rejection(ModbusException.IllegalDataValue, `${w.path}: expected a value, got ${String(w.value)}`)
      for (const [binding, state] of [[limit, inverterOf(physics)], [setpoint, batteryOf(physics)]] as const) {
        if (!binding || w.path !== binding.point) continue
        if (v < binding.min || v > binding.max) return rejection(ModbusException.IllegalDataValue, `${w.path}: expected ${binding.min}..${binding.max}, got ${v}`)
        if (!state) return rejection(ModbusException.ServerDeviceFailure, `${w.path}: the site has no ${binding === limit ? 'inverter' : 'battery'} behind this device`)
      }
    }
    return null
  }

  const releases = (binding: WriteBinding | undefined, w: PointWrite) =>
    binding !== undefined && w.path === binding.release.point && Number(w.value) === binding.release.value

  function imageOf(unitId: number): RegisterImage {
    const regs = units.get(unitId)!
    return {
      length: 0x10000,
      read: (address, count) => regs.read('holding', address, count),
      readInput: (address, count) => regs.read('input', address, count),
      decodeWrite(address, values) {
        if (address + values.length > 0x10000) return ModbusException.IllegalDataAddress
        const touched = new Set<ProfilePoint>()
        for (let i = 0; i < values.length; i++) {
          const p = regs.writableAt.get(address + i)
          if (!p) return ModbusException.IllegalDataAddress
          touched.add(p)
        }
        return [...touched].map((p) => {
          const words = wordsOf(p).map((w, r) => {
            const at = p.address + r - address
            return at >= 0 && at < values.length ? values[at]! : w
          })
          return { modelId: 0, path: p.name, value: decodeProfileValue(p, words, order, scaleExponentOf(p)) }
        })
      },
      commitWrite: (address, values) => regs.words.holding.set(values, address),
      set(_modelId, path, value) {
        const p = pointNamed(path)
        if (value === null) store(p, notAvailableWords(p, order))
        else setValue(p, Number(value))
      },
      addressOf: (_modelId, path) => pointNamed(path).address,
    }
  }

  const images = new Map([...units.keys()].map((unitId) => [unitId, imageOf(unitId)]))

  return {
    name: config.name,
    kind: config.kind,
    config,
    image: images.get(primaryUnit)!,
    unitIds: [...new Set(unitIds.values())],
    imageFor: (unitId) => images.get(unitId) ?? null,
    refresh(physics) {
      for (const role of Object.keys(readRoleUnits) as ReadRole[]) {
        const binding = profile.roles[role]
        if (binding) fillRole(role, binding, physics)
      }
      const inv = inverterOf(physics)
      const bat = batteryOf(physics)
      for (const [binding, value] of [[limit, inv?.limitPct?.value], [setpoint, bat?.setpointW?.value]] as const) {
        if (!binding) continue
        // A control that expired in the physics shows its revert in the registers.
        const shown = value ?? (binding.release.point === binding.point ? binding.release.value : 0)
        setValue(pointNamed(binding.point), shown)
      }
    },
    applyWrites(writes, physics) {
      const rejected = validate(writes, physics)
      if (rejected) return rejected
      const expiresAtMs = physics.timeMs + commandTimeoutMs
      for (const w of writes) {
        const v = Number(w.value)
        const inv = inverterOf(physics)
        const bat = batteryOf(physics)
        if (limit && inv && (w.path === limit.point || releases(limit, w))) inv.limitPct = releases(limit, w) ? null : { value: v, expiresAtMs }
        if (setpoint && bat && (w.path === setpoint.point || releases(setpoint, w))) bat.setpointW = releases(setpoint, w) ? null : { value: v, expiresAtMs }
      }
      return null
    },
  }
}

function readProfile(id: string, device: string, dir: string): Profile {
  const file = join(dir, `${id}.json`)
  if (!existsSync(file)) {
    const known = readdirSync(dir).filter((f) => f.endsWith('.json') && !f.endsWith('.schema.json')).map((f) => f.slice(0, -5))
    throw new ProfileDeviceError(`device '${device}': no profile '${id}' in ${dir}; known: ${known.join(', ') || 'none'}`)
  }
  let input: unknown
  try {
    input = JSON.parse(readFileSync(file, 'utf8'))
  } catch (cause) {
    throw new ProfileDeviceError(`device '${device}': ${id}.json: not JSON: ${(cause as Error).message}`, { cause })
  }
  const result = profileSchema.safeParse(input)
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`)
    throw new ProfileDeviceError(`device '${device}': ${id}.json is not a valid profile`, { metaMessages: problems, details: problems.join('; ') })
  }
  return result.data
}
