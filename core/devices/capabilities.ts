// Capabilities are small interfaces; a device has exactly those its driver declares.
// Signs (DESIGN.md): grid/meter power > 0 is import, battery power > 0 is discharge,
// PV >= 0. A value a device does not provide is null, never 0.

export type CapabilityName = 'meter' | 'pv' | 'battery'

export type MeterReading = {
  powerW: number | null
  importWh: number | null
  exportWh: number | null
  frequencyHz: number | null
  voltageV: number | null
  /** The import/export counters' resolution (Wh), where the driver knows it: a frozen counter is told from a slow one by it. */
  energyStepWh?: number | null
}

export type Meter = { readMeter(): Promise<MeterReading> }

export type PvReading = {
  powerW: number | null
  energyWh: number | null
  limitPct: number | null
  fault: boolean
  /** What it could produce without its cap, where it reports that (SunSpec 122 WAval); read only while capped. */
  availableW?: number | null
  /** The energy counter's resolution (Wh), where the driver knows it. */
  energyStepWh?: number | null
}

/** The result of a verified write: what was asked, what the device limits allowed, what it reads back. */
export type WriteResult = {
  point: string
  requested: number
  written: number
  clamped: boolean
  readBack: number | null
  verified: boolean
}

export type PvInverter = {
  readonly ratedW: number | null
  readPv(): Promise<PvReading>
  /**
   * Caps AC output at a percentage of the rating (clamped to 0..100). With revertS, the
   * device itself lifts the cap when it is not re-written within that time, where it can.
   */
  setPowerLimitPct(pct: number, options?: { revertS?: number }): Promise<WriteResult>
  /** Lifts the cap. */
  clearPowerLimit(): Promise<WriteResult>
}

export type BatteryReading = {
  powerW: number | null
  socPct: number | null
  fault: boolean
  /** The SoC register's resolution (%), where the driver knows it: a frozen SoC is told from a slow one by it. */
  socStepPct?: number | null
}

export type BatteryControl = {
  readonly maxChargeW: number | null
  readonly maxDischargeW: number | null
  /** Usable capacity and the device's own SoC limits, where it reports them. */
  readonly capacityWh: number | null
  readonly socMinPct: number | null
  readonly socMaxPct: number | null
  readBattery(): Promise<BatteryReading>
  /** Sets AC power (> 0 discharge, < 0 charge), clamped to the device's ratings. */
  setPowerW(powerW: number): Promise<WriteResult>
  /** Hands control back to the device's own mode. */
  releasePower(): Promise<WriteResult>
}

export type DeviceIdentity = { manufacturer: string | null; model: string | null; serialNumber: string | null; version: string | null }

/** Every point a driver can read, for commissioning and one-off reads. */
export type PointReading = { name: string; value: number | string | null; units: string | null; label?: string }

export type DeviceDriver = {
  readonly name: string
  /** 'sunspec' or the profile id. */
  readonly driver: string
  readonly identity: DeviceIdentity
  readonly capabilities: readonly CapabilityName[]
  /** Why the device cannot be used yet (it did not answer at start; retried), or absent/null: ready. */
  readonly pending?: string | null
  readonly meter?: Meter
  readonly pv?: PvInverter
  readonly battery?: BatteryControl
  readAll(): Promise<PointReading[]>
}

/** Clamps a requested value into [min, max] and says whether it had to. */
export function clampTo(value: number, min: number, max: number): { value: number; clamped: boolean } {
  if (!Number.isFinite(value)) throw new RangeError(`expected a finite number, got ${value}`)
  const clampedValue = Math.min(max, Math.max(min, value))
  return { value: clampedValue, clamped: clampedValue !== value }
}
