import type { CycleReport } from '../../control/createControlLoop.ts'
import type { DeviceDriver, PointReading } from '../../devices/capabilities.ts'
import type { DriverDiagnostics } from '../../devices/instrumentDriver.ts'

/** One decoded point: a SunSpec model and point (`model`, `point`), or a profile's point with the vendor's `label`. */
export type DevicePoint = { name: string; value: number | string | null; units: string | null; label: string | null; model: number | null; point: string | null }

/** GET /api/devices: one device as the installer sees it. */
export type DeviceView = {
  name: string
  driver: string
  capabilities: readonly string[]
  identity: DeviceDriver['identity']
  /** host:port or serial path, and the Modbus unit, from the site file. */
  address: string | null
  unitId: number | null
  /** From the control loop's last cycle: not heard from within the stale time (null before the first cycle). */
  stale: boolean | null
  lastOkMs: number | null
  controlError: string | null
  points: DevicePoint[]
  /** Wall-clock time of the full read the points come from, and why it failed if it did. */
  pointsReadAtMs: number | null
  pointsError: string | null
  /** Every read and write of the driver since start: counts, last latency, last error. */
  diagnostics: DriverDiagnostics | null
}

export type DevicesResult = { devices: DeviceView[] }

export type DeviceInspectorOptions = {
  drivers: readonly (DeviceDriver & { diagnostics?: () => DriverDiagnostics })[]
  addresses?: ReadonlyMap<string, { address: string; unitId: number }>
  latest: () => CycleReport | null
  /** A full read is reused this long (default 5 s): an HMI polling the list does not load the bus. */
  maxAgeMs?: number
  /** A device that has not answered its full read in this time is answered with an error (default 3 s); the read goes on and is reused. */
  timeoutMs?: number
  wallNow?: () => number
}

function decode(driver: string, p: PointReading): DevicePoint {
  // SunSpec points are named `<model>.<point>` (createSunSpecDriver's readAll)
  const m = driver === 'sunspec' ? /^(\d+)\.(.+)$/.exec(p.name) : null
  return { name: p.name, value: p.value, units: p.units, label: p.label ?? null, model: m ? Number(m[1]) : null, point: m ? m[2]! : null }
}

/** The device list for the HMI: every decoded point (cached briefly), health from the control loop, the driver's counters. */
export function createDeviceInspector(options: DeviceInspectorOptions) {
  const maxAgeMs = options.maxAgeMs ?? 5000
  const timeoutMs = options.timeoutMs ?? 3000
  const wallNow = options.wallNow ?? Date.now
  // checkedAtMs: when the entry was last decided (null: check again); readAtMs: when its points were read
  const cache = new Map<string, { checkedAtMs: number | null; readAtMs: number | null; points: DevicePoint[] | null; error: string | null }>()
  const pending = new Map<string, Promise<void>>()

  function refresh(d: DeviceDriver): Promise<void> {
    let running = pending.get(d.name)
    if (!running) {
      running = d
        .readAll()
        .then(
          (points) => {
            const atMs = wallNow()
            cache.set(d.name, { checkedAtMs: atMs, readAtMs: atMs, points: points.map((p) => decode(d.driver, p)), error: null })
          },
          // keep the last good points, say why they are old
          (error: unknown) => {
            const last = cache.get(d.name)
            cache.set(d.name, { checkedAtMs: wallNow(), readAtMs: last?.readAtMs ?? null, points: last?.points ?? null, error: (error as Error).message })
          },
        )
        .finally(() => pending.delete(d.name))
      pending.set(d.name, running)
    }
    return running
  }

  async function view(d: DeviceInspectorOptions['drivers'][number], cycle: CycleReport | null): Promise<DeviceView> {
    const cached = cache.get(d.name)
    if (!cached || cached.checkedAtMs === null || wallNow() - cached.checkedAtMs > maxAgeMs) {
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))
      const outcome = await Promise.race([refresh(d).then(() => 'done' as const), late])
      clearTimeout(timer)
      if (outcome === 'late') cache.set(d.name, { checkedAtMs: null, readAtMs: cached?.readAtMs ?? null, points: cached?.points ?? null, error: `no answer to a full read within ${timeoutMs} ms` })
    }
    const now = cache.get(d.name)
    const health = cycle?.devices.find((x) => x.name === d.name)
    const at = options.addresses?.get(d.name)
    return {
      name: d.name,
      driver: d.driver,
      capabilities: d.capabilities,
      identity: d.identity,
      address: at?.address ?? null,
      unitId: at?.unitId ?? null,
      stale: health?.stale ?? null,
      lastOkMs: health?.lastOkMs ?? null,
      controlError: health?.error ?? null,
      points: now?.points ?? [],
      pointsReadAtMs: now?.readAtMs ?? null,
      pointsError: now?.error ?? null,
      diagnostics: d.diagnostics?.() ?? null,
    }
  }

  return {
    async inspect(): Promise<DevicesResult> {
      const cycle = options.latest()
      return { devices: await Promise.all(options.drivers.map((d) => view(d, cycle))) }
    },
  }
}
