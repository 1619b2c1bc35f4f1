import type { DeviceDriver } from './capabilities.ts'

/** What a driver's calls have cost and how they failed, since it started. */
export type DriverDiagnostics = {
  reads: number
  readErrors: number
  writes: number
  writeErrors: number
  /** Duration of the last read that answered (a failed read's time is in lastError). */
  lastReadLatencyMs: number | null
  lastReadAtMs: number | null
  lastError: { message: string; atMs: number; operation: string; latencyMs: number } | null
}

export type InstrumentedDriver = DeviceDriver & { diagnostics(): DriverDiagnostics }

const reads = new Set(['readMeter', 'readPv', 'readBattery', 'readAll'])
const writes = new Set(['setPowerLimitPct', 'clearPowerLimit', 'setPowerW', 'releasePower'])

/**
 * The same driver with every read and write timed and counted, for the HMI's device
 * list. Capability objects are wrapped by prototype, so fields a driver adds later pass
 * through; only the known read/write methods are measured. Times are wall-clock (the
 * link's latency is real even when the site runs on a warped clock).
 */
export function instrumentDriver(driver: DeviceDriver, wallNow: () => number = Date.now): InstrumentedDriver {
  const stats: DriverDiagnostics = { reads: 0, readErrors: 0, writes: 0, writeErrors: 0, lastReadLatencyMs: null, lastReadAtMs: null, lastError: null }
  const measure = <T extends object>(target: T): T => {
    const wrapped = Object.create(target) as object
    for (const name of [...reads, ...writes]) {
      const original = (target as Record<string, unknown>)[name]
      if (typeof original !== 'function') continue
      const isRead = reads.has(name)
      // defineProperty: an own property even where the original's is read-only
      define(wrapped, name, async (...args: unknown[]) => {
        const started = performance.now()
        if (isRead) stats.reads++
        else stats.writes++
        try {
          const result: unknown = await (original as (...a: unknown[]) => Promise<unknown>).apply(target, args)
          if (isRead) {
            stats.lastReadLatencyMs = performance.now() - started
            stats.lastReadAtMs = wallNow()
          }
          return result
        } catch (error) {
          if (isRead) stats.readErrors++
          else stats.writeErrors++
          stats.lastError = { message: (error as Error).message, atMs: wallNow(), operation: name, latencyMs: performance.now() - started }
          throw error
        }
      })
    }
    return wrapped as T
  }
  const instrumented = measure(driver)
  for (const capability of ['meter', 'pv', 'battery'] as const) {
    const c = driver[capability]
    if (c) define(instrumented, capability, measure(c))
  }
  define(instrumented, 'diagnostics', (): DriverDiagnostics => ({ ...stats, lastError: stats.lastError && { ...stats.lastError } }))
  return instrumented as InstrumentedDriver
}

const define = (target: object, name: string, value: unknown) => Object.defineProperty(target, name, { value, enumerable: true, writable: false, configurable: false })
