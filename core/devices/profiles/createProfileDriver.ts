import { clampTo, type BatteryControl, type DeviceDriver, type Meter, type PointReading, type PvInverter, type WriteResult } from '../capabilities.ts'
import type { DriverOptions } from './createDriverRegistry.ts'
import { DriverRegistryError, ProfileReadError, ProfileWriteError } from './errors.ts'
import { planReads, type RegisterRange } from './planReads.ts'
import { decodeProfileValue, encodeProfileValue } from './profileCodec.ts'
import { registersOfPointType, type Profile, type ProfilePoint, type ReadBinding, type ReadRole, type WriteBinding } from './profileSchema.ts'

/**
 * The generic driver: interprets any profile and offers exactly the capabilities it
 * declares. Reads group adjacent points into block reads; writes are clamped to the
 * profile's and the installation's limits, written, read back, verified and logged.
 */
export function createProfileDriver(profile: Profile, options: DriverOptions): DeviceDriver {
  const { client, name } = options
  const log = options.log ?? (() => {})
  const order = profile.defaults.wordOrder
  const points = resolvePoints(profile, options.variant)
  const unitOf = (point: ProfilePoint): number =>
    point.modbusUnit === undefined
      ? (options.unitId ?? profile.defaults.unitId)
      : (options.modbusUnits?.[point.modbusUnit] ?? profile.defaults.modbusUnits[point.modbusUnit]!)
  const pointNamed = (pointName: string): ProfilePoint => points.get(pointName)!

  /** Reads points (and the scale registers they need) with as few requests as the device allows. */
  async function readPoints(names: readonly string[]): Promise<Map<string, number | null>> {
    const wanted = new Set(names)
    for (const n of names) {
      const sf = pointNamed(n).scaleRegister
      if (sf !== undefined) wanted.add(sf)
    }
    const ranges: RegisterRange[] = [...wanted].map((n) => {
      const p = pointNamed(n)
      return { unitId: unitOf(p), fn: p.function, address: p.address, count: registersOfPointType(p.type) }
    })
    const words = new Map<string, number>()
    for (const block of planReads(ranges, { maxRegisters: profile.defaults.maxRegistersPerRead, maxGap: profile.defaults.maxReadGap })) {
      let data: Uint16Array
      try {
        data = block.fn === 'holding'
          ? await client.readHoldingRegisters(block.unitId, block.address, block.count)
          : await client.readInputRegisters(block.unitId, block.address, block.count)
      } catch (cause) {
        throw new ProfileReadError({ device: name, unitId: block.unitId, address: block.address, count: block.count, fn: block.fn, cause })
      }
      data.forEach((w, i) => words.set(`${block.unitId}/${block.fn}/${block.address + i}`, w))
    }
    const wordsOf = (p: ProfilePoint) =>
      Array.from({ length: registersOfPointType(p.type) }, (_, i) => words.get(`${unitOf(p)}/${p.function}/${p.address + i}`) ?? 0)
    const values = new Map<string, number | null>()
    for (const n of wanted) {
      const p = pointNamed(n)
      const exponent = p.scaleRegister === undefined ? null : decodeProfileValue(pointNamed(p.scaleRegister), wordsOf(pointNamed(p.scaleRegister)), order)
      values.set(n, decodeProfileValue(p, wordsOf(p), order, exponent))
    }
    return values
  }

  const bindingOf = (role: ReadRole): ReadBinding | undefined => profile.roles[role]
  const namesOf = (roles: readonly ReadRole[], extra: (string | undefined)[] = []) =>
    [...roles.flatMap((role) => bindingOf(role)?.points ?? []), ...extra.filter((n): n is string => n !== undefined)]
  const roleValue = (values: Map<string, number | null>, role: ReadRole): number | null => {
    const binding = bindingOf(role)
    if (!binding) return null
    const parts = binding.points.map((n) => values.get(n) ?? null)
    if (parts.some((v) => v === null)) return null
    const sum = (parts as number[]).reduce((s, v) => s + v, 0)
    return binding.combine === 'mean' ? sum / parts.length : sum
  }

  async function writePoint(pointName: string, value: number): Promise<{ written: number; readBack: number | null }> {
    const p = pointNamed(pointName)
    const exponent = p.scaleRegister === undefined ? null : ((await readPoints([p.scaleRegister])).get(p.scaleRegister) ?? null)
    const words = encodeProfileValue(p, value, order, exponent)
    const written = decodeProfileValue(p, words, order, exponent) ?? value
    const unitId = unitOf(p)
    try {
      await client.writeRegisters(unitId, p.address, [...words])
    } catch (cause) {
      const error = new ProfileWriteError({ device: name, point: pointName, unitId, address: p.address, value: written, cause })
      log(error.shortMessage + `: ${(cause as Error).message}`)
      throw error
    }
    const readBack = (await readPoints([pointName])).get(pointName) ?? null
    return { written, readBack }
  }

  const same = (a: number | null, b: number) => a !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b))

  async function verifiedWrite(binding: WriteBinding, requested: number, lo: number, hi: number): Promise<WriteResult> {
    const target = clampTo(requested, lo, hi)
    let enabled = true
    if (binding.enable) {
      const enable = await writePoint(binding.enable.point, binding.enable.value)
      enabled = same(enable.readBack, enable.written)
      if (!enabled) log(`${name}: ${binding.enable.point} <- ${enable.written}; read back ${enable.readBack}: NOT VERIFIED`)
    }
    const { written, readBack } = await writePoint(binding.point, target.value)
    // A value the register cannot hold exactly (rounding to its scale, saturation) counts as clamped.
    const step = Math.abs(pointNamed(binding.point).scale ?? 1)
    const clamped = target.clamped || Math.abs(written - target.value) > step / 2 + 1e-9
    const verified = enabled && same(readBack, written)
    log(`${name}: ${binding.point} <- ${written} (requested ${requested}${clamped ? `, clamped to ${lo}..${hi}` : ''}); read back ${readBack}: ${verified ? 'verified' : 'NOT VERIFIED'}`)
    return { point: binding.point, requested, written, clamped, readBack, verified }
  }

  async function release(binding: WriteBinding): Promise<WriteResult> {
    const { point, value } = binding.release
    const { written, readBack } = await writePoint(point, value)
    const verified = same(readBack, written)
    log(`${name}: ${point} <- ${written} (release); read back ${readBack}: ${verified ? 'verified' : 'NOT VERIFIED'}`)
    return { point, requested: value, written, clamped: false, readBack, verified }
  }

  const declared = new Set(profile.capabilities)
  let meter: Meter | undefined
  let pv: PvInverter | undefined
  let battery: BatteryControl | undefined

  if (declared.has('meter')) {
    const roles = ['meter.powerW', 'meter.importWh', 'meter.exportWh', 'meter.frequencyHz', 'meter.voltageV'] as const
    meter = {
      async readMeter() {
        const values = await readPoints(namesOf(roles))
        return {
          powerW: roleValue(values, 'meter.powerW'),
          importWh: roleValue(values, 'meter.importWh'),
          exportWh: roleValue(values, 'meter.exportWh'),
          frequencyHz: roleValue(values, 'meter.frequencyHz'),
          voltageV: roleValue(values, 'meter.voltageV'),
        }
      },
    }
  }

  if (declared.has('pv')) {
    const limit = profile.roles['pv.limitPct']!
    pv = {
      ratedW: options.limits?.ratedW ?? null,
      async readPv() {
        const values = await readPoints(namesOf(['pv.powerW', 'pv.energyWh'], [limit.point, limit.release.point]))
        // Like SunSpec's WMaxLim_Ena: a released limit is no limit (null), whatever the percentage register holds.
        const limited = values.get(limit.release.point) !== limit.release.value
        return { powerW: roleValue(values, 'pv.powerW'), energyWh: roleValue(values, 'pv.energyWh'), limitPct: limited ? (values.get(limit.point) ?? null) : null, fault: false }
      },
      setPowerLimitPct: (pct) => verifiedWrite(limit, pct, Math.max(0, limit.min), Math.min(100, limit.max)),
      clearPowerLimit: () => release(limit),
    }
  }

  if (declared.has('battery')) {
    const setpoint = profile.roles['battery.setpointW']!
    const maxChargeW = options.limits?.maxChargeW ?? null
    const maxDischargeW = options.limits?.maxDischargeW ?? null
    battery = {
      maxChargeW,
      maxDischargeW,
      // Profiles carry no ratings: they are the installation's, given with the site.
      capacityWh: options.limits?.capacityWh ?? null,
      socMinPct: options.limits?.socMinPct ?? null,
      socMaxPct: options.limits?.socMaxPct ?? null,
      async readBattery() {
        const values = await readPoints(namesOf(['battery.powerW', 'battery.socPct']))
        return { powerW: roleValue(values, 'battery.powerW'), socPct: roleValue(values, 'battery.socPct'), fault: false }
      },
      setPowerW: (powerW) =>
        verifiedWrite(setpoint, powerW, Math.max(setpoint.min, maxChargeW === null ? -Infinity : -maxChargeW), Math.min(setpoint.max, maxDischargeW ?? Infinity)),
      releasePower: () => release(setpoint),
    }
  }

  return {
    name,
    driver: profile.id,
    identity: { manufacturer: profile.manufacturer, model: profile.products.join(', '), serialNumber: null, version: options.variant ?? null },
    capabilities: profile.capabilities,
    ...(meter && { meter }),
    ...(pv && { pv }),
    ...(battery && { battery }),
    async readAll(): Promise<PointReading[]> {
      const all = [...points.values()]
      const values = await readPoints(all.map((p) => p.name))
      return all.map((p) => ({ name: p.name, value: values.get(p.name) ?? null, units: p.unit, label: p.label }))
    },
  }
}

/** The profile's points by name, with a variant's replacements applied. */
function resolvePoints(profile: Profile, variant: string | undefined): Map<string, ProfilePoint> {
  const points = new Map<string, ProfilePoint>()
  for (const p of [...profile.readings, ...profile.writes]) points.set(p.name, p)
  if (variant !== undefined) {
    const v = profile.variants[variant]
    if (!v) throw new DriverRegistryError(`profile '${profile.id}' has no variant '${variant}'; known: ${Object.keys(profile.variants).join(', ') || 'none'}`)
    for (const p of [...v.readings, ...v.writes]) points.set(p.name, p)
  }
  return points
}
