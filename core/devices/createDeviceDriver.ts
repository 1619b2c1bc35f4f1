import { BaseError } from '../errors/BaseError.ts'
import type { DeviceDriver } from './capabilities.ts'
import type { createConnectionPool } from './modbus/createConnectionPool.ts'
import { bundledDriverRegistry } from './bundledDriverRegistry.ts'
import type { SiteDevice } from './site/siteFileSchema.ts'

export type ConnectionPool = ReturnType<typeof createConnectionPool>

/** The site file names a driver type that does not exist: no retry can fix it. */
export class UnknownDriverError extends BaseError {
  override name = 'UnknownDriverError' as const
}

/** Creates the driver a site file names for a device: `sunspec` or `profile:<id>`. */
export async function createDeviceDriver(device: SiteDevice, pool: ConnectionPool, log: (m: string) => void = () => {}): Promise<DeviceDriver> {
  const { registry } = bundledDriverRegistry()
  // 'sunspec' is a code driver; 'profile:<id>' names a bundled profile by its id.
  const type = device.driver.startsWith('profile:') ? device.driver.slice('profile:'.length) : device.driver
  if (type === 'sunspec' ? device.driver !== 'sunspec' : !device.driver.startsWith('profile:') || !registry.has(type)) {
    throw new UnknownDriverError(`${device.name}: no driver '${device.driver}'; known: sunspec, ${registry.types().filter((t) => t !== 'sunspec').map((t) => `profile:${t}`).join(', ')}`)
  }
  return registry.create(type, {
    name: device.name,
    client: pool.get(device.connection),
    unitId: device.unitId,
    log,
    timeoutMs: device.timeoutMs,
    ...(device.sunspecBase !== undefined && { sunspecBase: device.sunspecBase }),
    ...(device.limits && { limits: device.limits }),
    ...(device.modbusUnits && { modbusUnits: device.modbusUnits }),
    ...(device.variant && { variant: device.variant }),
  })
}
