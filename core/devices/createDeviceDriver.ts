import { BaseError } from '../errors/BaseError.ts'
import type { DeviceDriver } from './capabilities.ts'
import type { createConnectionPool } from './modbus/createConnectionPool.ts'
import { createSunSpecDriver } from './sunspec/createSunSpecDriver.ts'
import { discoverSunSpec } from './sunspec/readSunSpecDevice.ts'
import { createDriverRegistry, type DriverRegistry } from './profiles/createDriverRegistry.ts'
import { profileFilesIn, registerProfiles } from './profiles/registerProfiles.ts'
import type { SiteDevice } from './site/siteFileSchema.ts'

export type ConnectionPool = ReturnType<typeof createConnectionPool>

export type DriverFactory = (device: SiteDevice, pool: ConnectionPool, log: (m: string) => void) => Promise<DeviceDriver>

export class DriverError extends BaseError {
  override name = 'DriverError' as const
}

/** The site file names a driver type that does not exist: no retry can fix it. */
export class UnknownDriverError extends BaseError {
  override name = 'UnknownDriverError' as const
}

const factories = new Map<string, DriverFactory>()

/** Registers a driver type; a second registration of the same type is a programming error. */
export function registerDriver(type: string, create: DriverFactory): void {
  if (factories.has(type)) throw new DriverError(`driver type '${type}' is already registered`)
  factories.set(type, create)
}

registerDriver('sunspec', async (device, pool, log) => {
  const client = pool.get(device.connection)
  const discovery = await discoverSunSpec(client, device.unitId, { timeoutMs: device.timeoutMs, ...(device.sunspecBase !== undefined && { bases: [device.sunspecBase] }) })
  if (!discovery) {
    throw new DriverError(`${device.name}: no SunSpec map at ${client.transport.endpoint} unit ${device.unitId} (tried ${device.sunspecBase ?? '40000, 50000, 0'})`)
  }
  return createSunSpecDriver({ name: device.name, client, unitId: device.unitId, discovery, log })
})

let profiles: DriverRegistry | null = null

// Non-SunSpec devices: the bundled profiles (core/devices/profiles/*.json), one generic driver.
registerDriver('profile', async (device, pool, log) => {
  if (!profiles) {
    const registry = createDriverRegistry()
    registerProfiles(registry, profileFilesIn())
    profiles = registry
  }
  return profiles.create(device.driver.slice('profile:'.length), {
    name: device.name,
    client: pool.get(device.connection),
    unitId: device.unitId,
    log,
    ...(device.limits && { limits: device.limits }),
    ...(device.modbusUnits && { modbusUnits: device.modbusUnits }),
    ...(device.variant && { variant: device.variant }),
  })
})

/** Creates the driver a site file names for a device: `sunspec` or `profile:<id>`. */
export async function createDeviceDriver(device: SiteDevice, pool: ConnectionPool, log: (m: string) => void = () => {}): Promise<DeviceDriver> {
  const type = device.driver.startsWith('profile:') ? 'profile' : device.driver
  const create = factories.get(type)
  if (!create) throw new UnknownDriverError(`${device.name}: no driver '${device.driver}'; known: ${[...factories.keys()].join(', ')}`)
  return create(device, pool, log)
}
