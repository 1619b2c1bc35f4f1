import type { DeviceDriver } from '../capabilities.ts'
import type { ModbusClient } from '../modbus/createModbusClient.ts'
import { DriverRegistryError } from './errors.ts'

/** What a site gives a driver: its name, the client of its endpoint, and installation details. */
export type DriverOptions = {
  name: string
  client: ModbusClient
  /** Replaces the profile's default unit ID. */
  unitId?: number
  /** Replaces named units behind a gateway (e.g. a Victron GX's vebus unit). */
  modbusUnits?: Record<string, number>
  /** The installation's ratings; writes are clamped to them as well as to the profile's limits. */
  limits?: { ratedW?: number; maxChargeW?: number; maxDischargeW?: number; capacityWh?: number; socMinPct?: number; socMaxPct?: number }
  /** A key of the profile's variants (firmware). */
  variant?: string
  /** Where every write is logged. */
  log?: (message: string) => void
  /** Discovery timeout per request (code drivers that probe the device, e.g. SunSpec). */
  timeoutMs?: number
  /** The SunSpec base address to look at instead of trying 40000, 50000 and 0. */
  sunspecBase?: number
}

/** Profiles build their driver at once; code drivers (SunSpec) may first talk to the device. */
export type DriverFactory = (options: DriverOptions) => DeviceDriver | Promise<DeviceDriver>

export type DriverRegistry = {
  /** Adds a driver type; a type that is already known is rejected. */
  register(type: string, create: DriverFactory): void
  /** Creates a driver of a known type; an unknown type fails (rejects) listing the known ones. */
  create(type: string, options: DriverOptions): Promise<DeviceDriver>
  has(type: string): boolean
  types(): string[]
}

/** A small map from type names (profile ids, code drivers) to driver factories; the process's one instance is bundledDriverRegistry(). */
export function createDriverRegistry(): DriverRegistry {
  const factories = new Map<string, DriverFactory>()
  return {
    register(type, create) {
      if (factories.has(type)) throw new DriverRegistryError(`driver type '${type}' is already registered`)
      factories.set(type, create)
    },
    async create(type, options) {
      const create = factories.get(type)
      if (!create) throw new DriverRegistryError(`unknown driver type '${type}'; known: ${[...factories.keys()].sort().join(', ') || 'none'}`)
      return create(options)
    },
    has: (type) => factories.has(type),
    types: () => [...factories.keys()].sort(),
  }
}
