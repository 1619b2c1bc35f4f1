import { BaseError } from '../errors/BaseError.ts'
import type { DeviceDriver } from './capabilities.ts'
import { createDeviceDriver, UnknownDriverError, type ConnectionPool } from './createDeviceDriver.ts'
import { DriverRegistryError, ProfileFileError } from './profiles/errors.ts'
import type { SiteDevice } from './site/siteFileSchema.ts'

export type StartDeviceDriverOptions<D extends DeviceDriver> = {
  log?: (message: string) => void
  /** Applied to the driver once it exists (and to the stand-in until then), e.g. instrumentDriver. */
  wrap?: (driver: DeviceDriver) => D
  /** Discovery is retried this often while the device does not answer (default 2000 ms; the client probes the link every second). */
  retryMs?: number
  /** Called once when a device that was down at start has answered and is usable. */
  onReady?: (driver: D) => void
}

export type StartedDevice<D extends DeviceDriver> = {
  /** The device's driver: a stand-in with no capabilities and `pending` set until the device answers, then the driver itself. */
  driver: D
  /** True once discovery has succeeded. */
  ready(): boolean
  /** Stops retrying (the service stops). */
  stop(): void
}

/** A site file mistake no retry can fix: refuse to start, by name. */
const isConfigurationError = (error: unknown) => error instanceof UnknownDriverError || error instanceof DriverRegistryError || error instanceof ProfileFileError

/**
 * Creates a site file's device driver, or, when the device does not answer (down, booting,
 * unplugged), a stand-in that the control loop sees as stale with the reason, while
 * discovery is retried in the background; once it answers, the stand-in becomes the driver
 * (its capabilities appear) and the device joins the loop. A site file mistake (an unknown
 * driver or profile) still throws: waiting would not fix it.
 */
export async function startDeviceDriver<D extends DeviceDriver = DeviceDriver>(device: SiteDevice, pool: ConnectionPool, options: StartDeviceDriverOptions<D> = {}): Promise<StartedDevice<D>> {
  const log = options.log ?? (() => {})
  const wrap = options.wrap ?? ((d: DeviceDriver) => d as D)
  const create = () => createDeviceDriver(device, pool, log)
  const reasonOf = (error: unknown) => (error as BaseError).shortMessage ?? (error as Error).message
  try {
    const driver = wrap(await create())
    return { driver, ready: () => true, stop: () => {} }
  } catch (error) {
    if (isConfigurationError(error)) throw error
    const retryMs = options.retryMs ?? 2000
    let reason = reasonOf(error)
    let real: D | null = null
    let stopped = false
    let timer: NodeJS.Timeout | null = null
    const standIn = wrap({
      name: device.name,
      driver: device.driver,
      identity: { manufacturer: null, model: null, serialNumber: null, version: null },
      capabilities: [],
      get pending() {
        return `not started: ${reason}; discovery is retried every ${retryMs / 1000} s`
      },
      readAll: () => Promise.reject(new Error(`${device.name}: not started: ${reason}`)),
    })
    log(`${device.name}: cannot start (${reason}); running without it, discovery retried every ${retryMs / 1000} s`)
    const retry = () => {
      timer = setTimeout(() => {
        create().then(
          (driver) => {
            if (stopped) return
            real = wrap(driver)
            log(`${device.name}: answered; discovered ${driver.capabilities.join(', ') || 'no capabilities'}, it joins the control loop`)
            options.onReady?.(real)
          },
          (e: unknown) => {
            if (stopped) return
            if (isConfigurationError(e)) log(`${device.name}: ${reasonOf(e)}; no longer retried`)
            else {
              reason = reasonOf(e)
              retry()
            }
          },
        )
      }, retryMs)
      timer.unref()
    }
    retry()
    // One object for the loop, the API and the HMI whatever happens: it reads through to the
    // driver once there is one. Descriptors are reported configurable, as a proxy must for a
    // property its (empty) target lacks.
    const current = (): object => real ?? standIn
    const driver = new Proxy({} as D, {
      get: (_, key) => Reflect.get(current(), key),
      has: (_, key) => Reflect.has(current(), key),
      ownKeys: () => Reflect.ownKeys(current()),
      getOwnPropertyDescriptor: (_, key) => {
        const d = Reflect.getOwnPropertyDescriptor(current(), key)
        return d && { ...d, configurable: true }
      },
      set: () => false,
      defineProperty: () => false,
    })
    return {
      driver,
      ready: () => real !== null,
      stop() {
        stopped = true
        if (timer) clearTimeout(timer)
      },
    }
  }
}
