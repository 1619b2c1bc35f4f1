import { z } from 'zod'

/** Faults a tester can inject per device at runtime (HTTP API); all off by default. */
export const faultsSchema = z.strictObject({
  /** New connections to the device's TCP port are closed at once (a gateway port: all its units). */
  refuseConnections: z.boolean(),
  /** Every response is sent this many ms late. */
  delayMs: z.number().int().min(0).max(60_000),
  /** Requests are read and never answered. */
  noResponse: z.boolean(),
  /** Every request is answered with this Modbus exception code (1-11), or null. */
  exceptionCode: z.number().int().min(1).max(11).nullable(),
  /** Registers stop following the physics (a hung data acquisition). */
  frozen: z.boolean(),
  /** These points (`model.point`, e.g. `103.W`) read as SunSpec "not implemented" (NaN for floats). */
  sentinelPoints: z.array(z.string().regex(/^\d+\.[A-Za-z0-9_.[\]]+$/, 'model.point, e.g. 103.W')).max(200),
  /** The device trips: an inverter or battery stops converting power and reports FAULT. */
  tripped: z.boolean(),
  /** Each answer is replaced by garbage (a wrong byte count, another function's reply, random bytes) with this probability, drawn from the simulator's seed. */
  garbageFrames: z.number().min(0).max(1),
})

export type DeviceFaults = z.infer<typeof faultsSchema>

export const faultsPatchSchema = faultsSchema.partial()

export function noFaults(): DeviceFaults {
  return { refuseConnections: false, delayMs: 0, noResponse: false, exceptionCode: null, frozen: false, sentinelPoints: [], tripped: false, garbageFrames: 0 }
}
