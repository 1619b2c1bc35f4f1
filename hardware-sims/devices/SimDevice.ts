import type { SitePhysics } from '../physics/sitePhysics.ts'
import type { DeviceConfig } from '../site/siteSchema.ts'
import type { PointWrite, SunSpecImage } from './SunSpecImage.ts'

export type WriteRejection = { exception: number; reason: string }

/** What the Modbus server needs of a register image: SunSpecImage, or a profile's (createProfileDevice). */
export type RegisterImage = Pick<SunSpecImage, 'read' | 'decodeWrite' | 'commitWrite' | 'set' | 'addressOf' | 'length'> & {
  /** Input registers (0x04) when they differ from the holding ones. */
  readInput?(address: number, count: number): Buffer | null
}

/** A simulated SunSpec device: physics in, registers out; control writes in, physics changed. */
export type SimDevice = {
  readonly name: string
  readonly kind: DeviceConfig['kind']
  readonly config: DeviceConfig
  readonly image: RegisterImage
  /** Further unit IDs the device answers on (a gateway's services), and the image of each. */
  readonly unitIds?: readonly number[]
  imageFor?(unitId: number): RegisterImage | null
  /** Copies the physics state into the registers. */
  refresh(physics: SitePhysics): void
  /** Validates all point writes, then applies them; a rejection applies none. */
  applyWrites(writes: PointWrite[], physics: SitePhysics): WriteRejection | null
}

const sunSpecEpochMs = Date.UTC(2000, 0, 1)

/** Seconds since 2000-01-01T00:00Z, SunSpec's time base (model 122 Tms). */
export function sunSpecSeconds(timeMs: number): number {
  return Math.floor((timeMs - sunSpecEpochMs) / 1000)
}

/** Fills model 1 (common): manufacturer, model, version, serial, device address. */
export function fillCommonModel(image: SunSpecImage, config: DeviceConfig, model: string): void {
  image.set(1, 'Mn', config.manufacturer)
  image.set(1, 'Md', model)
  image.set(1, 'Opt', 'sim')
  image.set(1, 'Vr', '1.0.0')
  image.set(1, 'SN', config.serialNumber ?? `SIM-${config.name.toUpperCase()}`)
  image.set(1, 'DA', config.transport.unitId)
  image.set(1, 'Pad', 0x8000)
}

/** Grid voltage and frequency with a slow, deterministic wobble. */
export function gridVoltage(timeMs: number, phase: number): number {
  return 230 + 2.5 * Math.sin(timeMs / 97_000 + phase * 2.1) + 1.2 * Math.sin(timeMs / 13_000 + phase)
}

export function gridFrequency(timeMs: number): number {
  return 50 + 0.03 * Math.sin(timeMs / 41_000) + 0.01 * Math.sin(timeMs / 7_000)
}

export function rejection(exception: number, reason: string): WriteRejection {
  return { exception, reason }
}

/** Model 103's AC side for an inverter exporting (or a storage inverter carrying) `powerW`: balanced phases, unity PF. */
export function setAcMeasurements(image: SunSpecImage, timeMs: number, powerW: number): void {
  const v = [0, 1, 2].map((p) => gridVoltage(timeMs, p))
  const a = Math.abs(powerW) / 3 / 230
  for (const [i, ph] of ['A', 'B', 'C'].entries()) {
    image.set(103, `Aph${ph}`, a)
    image.set(103, `PhVph${ph}`, v[i]!)
  }
  image.set(103, 'A', a * 3)
  image.set(103, 'PPVphAB', v[0]! * Math.sqrt(3))
  image.set(103, 'PPVphBC', v[1]! * Math.sqrt(3))
  image.set(103, 'PPVphCA', v[2]! * Math.sqrt(3))
  image.set(103, 'W', powerW)
  image.set(103, 'Hz', gridFrequency(timeMs))
  image.set(103, 'VA', Math.abs(powerW))
  image.set(103, 'VAr', 0)
  image.set(103, 'PF', 100)
}
