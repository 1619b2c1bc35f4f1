import type { DeviceDriver } from '../devices/capabilities.ts'
import { createDeviceDriver } from '../devices/createDeviceDriver.ts'
import { createConnectionPool } from '../devices/modbus/createConnectionPool.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'

export type OpenedDevices = { drivers: DeviceDriver[]; close(): Promise<void> }

/**
 * A site file's devices through the one driver registry (createDeviceDriver), all of them
 * or none: a device that does not start closes the connections and names it. For sites
 * that must all be there (a simulator's); `gridmesh serve` starts degraded instead.
 */
export async function openSiteDevices(site: SiteFile, options: { retries?: number; log?: (message: string) => void } = {}): Promise<OpenedDevices> {
  const pool = createConnectionPool({ timeoutMs: Math.max(...site.devices.map((d) => d.timeoutMs)), retries: options.retries ?? 1 })
  const drivers: DeviceDriver[] = []
  try {
    for (const device of site.devices) drivers.push(await createDeviceDriver(device, pool, options.log))
  } catch (error) {
    await pool.close()
    throw error
  }
  return { drivers, close: () => pool.close() }
}
