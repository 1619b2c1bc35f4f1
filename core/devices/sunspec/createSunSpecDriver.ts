import { BaseError } from '../../errors/BaseError.ts'
import { clampTo, type BatteryControl, type CapabilityName, type DeviceDriver, type DeviceIdentity, type Meter, type PointReading, type PvInverter, type WriteResult } from '../capabilities.ts'
import type { ModbusClient } from '../modbus/createModbusClient.ts'
import type { DecodedPoint } from './decodeModel.ts'
import { layoutModel } from './layoutModel.ts'
import { decodeRaw, encodeRaw, isNotImplemented } from './pointCodec.ts'
import { discoverSunSpec, readSunSpecModels, type DiscoveredModel, type SunSpecDiscovery } from './readSunSpecDevice.ts'

export class SunSpecDriverError extends BaseError {
  override name = 'SunSpecDriverError' as const
}

const meterModels = [203, 204, 202, 201, 213, 214, 212, 211]
const inverterModels = [103, 102, 101, 113, 112, 111]
const batteryModels = [802, 124, 713]

export type SunSpecDriverParameters = {
  name: string
  client: ModbusClient
  unitId: number
  /** Skip discovery when the site file already knows the map. */
  discovery?: SunSpecDiscovery
  log?: (message: string) => void
}

/**
 * A device driver for any SunSpec device: capabilities follow the models it serves
 * (20x meter, 10x/11x inverter, 124/802/713 battery with 704 setpoints, 123 limits).
 * Writes are clamped to the device's own ratings, written, read back and verified.
 */
export async function createSunSpecDriver({ name, client, unitId, discovery: given, log = () => {} }: SunSpecDriverParameters): Promise<DeviceDriver> {
  const discovery = given ?? (await discoverSunSpec(client, unitId))
  if (!discovery) throw new SunSpecDriverError(`${name}: no SunSpec map at ${client.transport.endpoint} unit ${unitId} (tried bases 40000, 50000, 0)`)
  const byId = new Map(discovery.models.filter((m) => m.known).map((m) => [m.id, m]))
  const first = (ids: number[]) => ids.map((id) => byId.get(id)).find((m): m is DiscoveredModel => m !== undefined)

  const read = async (model: DiscoveredModel): Promise<Map<string, DecodedPoint>> => {
    const [decoded] = await readSunSpecModels(client, { ...discovery, models: [model] })
    return decoded!.points
  }
  const num = (points: Map<string, DecodedPoint>, path: string): number | null => {
    const v = points.get(path)?.value
    return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : null
  }

  /** A point's resolution (10^sf), or null: a float, or its scale factor is not implemented. */
  const stepOf = (points: Map<string, DecodedPoint>, path: string): number | null => {
    const point = points.get(path)?.point
    if (!point || point.definition.type.startsWith('float')) return null
    const sf = point.sfPath ? num(points, point.sfPath) : (point.sfFixed ?? 0)
    return sf === null ? null : 10 ** sf
  }

  const common = byId.get(1)
  const identityPoints = common ? await read(common) : new Map<string, DecodedPoint>()
  const str = (path: string) => {
    const v = identityPoints.get(path)?.value
    return typeof v === 'string' && v.length ? v : null
  }
  const identity: DeviceIdentity = { manufacturer: str('Mn'), model: str('Md'), serialNumber: str('SN'), version: str('Vr') }

  // Scale factors of the control models, read once: a write needs them, and re-reading a
  // whole model before every write would triple the requests of each control cycle.
  const scaleCache = new Map<number, Map<string, DecodedPoint>>()
  const scalesOf = async (model: DiscoveredModel, refresh = false) => {
    let points = scaleCache.get(model.id)
    if (!points || refresh) scaleCache.set(model.id, (points = await read(model)))
    return points
  }

  /** Writes contiguous points of one model in one request, then reads just those registers back. */
  const writePoints = async (model: DiscoveredModel, values: [path: string, value: number][], verifyPath: string, requested: number, clamped: boolean): Promise<WriteResult> => {
    const layout = layoutModel(model.id)
    const scales = await scalesOf(model)
    const sfOf = (path: string) => {
      const sfPath = layout.byPath.get(path)!.sfPath
      const sf = sfPath ? num(scales, sfPath) : 0
      if (sf === null) throw new SunSpecDriverError(`${name}: ${model.id}.${path} cannot be written: its scale factor ${sfPath} is not implemented`)
      return sf
    }
    const placed = values.map(([path, value]) => {
      const point = layout.byPath.get(path)
      if (!point) throw new SunSpecDriverError(`${name}: model ${model.id} has no point ${path}`)
      return { point, raw: Math.round(value / 10 ** sfOf(path)) }
    })
    placed.sort((a, b) => a.point.offset - b.point.offset)
    const start = placed[0]!.point.offset
    const end = placed.at(-1)!.point.offset + placed.at(-1)!.point.registers
    const words = new Uint16Array(end - start)
    let cursor = start
    for (const { point, raw } of placed) {
      if (point.offset !== cursor) throw new SunSpecDriverError(`${name}: ${model.id} points ${values.map((v) => v[0]).join(', ')} are not contiguous`)
      encodeRaw(point.definition.type, raw, words, point.offset - start, point.registers)
      cursor += point.registers
    }
    await client.writeRegisters(unitId, model.address + start, [...words])
    const verify = layout.byPath.get(verifyPath)!
    const back = await client.readHoldingRegisters(unitId, model.address + verify.offset, verify.registers)
    const rawBack = decodeRaw(verify.definition.type, back, 0, verify.registers)
    const sf = sfOf(verifyPath)
    const readBack = isNotImplemented(verify.definition.type, rawBack) || typeof rawBack !== 'number' ? null : Number((rawBack * 10 ** sf).toFixed(Math.max(0, -sf)))
    const written = values.find(([p]) => p === verifyPath)![1]
    const verified = readBack !== null && Math.abs(readBack - written) <= 10 ** sf / 2 + 1e-9
    if (!verified) scaleCache.delete(model.id) // a scale factor may have changed: read it again next time
    const result: WriteResult = { point: `${model.id}.${verifyPath}`, requested, written, clamped, readBack, verified }
    log(`${name}: wrote ${values.map(([p, v]) => `${model.id}.${p}=${v}`).join(', ')}${clamped ? ` (clamped from ${requested})` : ''}; read back ${readBack} ${verified ? 'ok' : 'MISMATCH'}`)
    return result
  }

  const capabilities: CapabilityName[] = []
  let meter: Meter | undefined
  let pv: PvInverter | undefined
  let battery: BatteryControl | undefined

  const meterModel = first(meterModels)
  if (meterModel) {
    capabilities.push('meter')
    meter = {
      async readMeter() {
        const p = await read(meterModel)
        return {
          powerW: num(p, 'W'),
          importWh: num(p, 'TotWhImp'),
          exportWh: num(p, 'TotWhExp'),
          frequencyHz: num(p, 'Hz'),
          voltageV: num(p, 'PhV') ?? num(p, 'PhVphA'),
          energyStepWh: stepOf(p, 'TotWhImp'),
        }
      },
    }
  }

  const inverterModel = first(inverterModels)
  const storageModel = first(batteryModels)
  const nameplate = byId.get(120) ? await read(byId.get(120)!) : null
  const controls = byId.get(123)
  if (inverterModel && !storageModel) {
    capabilities.push('pv')
    const settings = byId.get(121) ? await read(byId.get(121)!) : null
    const ratedW = (settings && num(settings, 'WMax')) ?? (nameplate && num(nameplate, 'WRtg'))
    pv = {
      ratedW,
      async readPv() {
        const p = await read(inverterModel)
        const c = controls ? await read(controls) : null
        const limited = c && num(c, 'WMaxLim_Ena') === 1
        // Under a cap the measured power hides what the panels could give; 122 says (one more read, only then).
        const status = limited && byId.get(122) ? await read(byId.get(122)!) : null
        return { powerW: num(p, 'W'), energyWh: num(p, 'WH'), limitPct: limited ? num(c, 'WMaxLimPct') : null, fault: num(p, 'St') === 7, availableW: status && num(status, 'WAval'), energyStepWh: stepOf(p, 'WH') }
      },
      async setPowerLimitPct(pct, { revertS } = {}) {
        if (!controls) throw new SunSpecDriverError(`${name}: no model 123 (immediate controls): the power limit cannot be set`)
        const { value, clamped } = clampTo(pct, 0, 100)
        if (revertS !== undefined && !(Number.isInteger(revertS) && revertS >= 1 && revertS <= 65_535)) throw new SunSpecDriverError(`${name}: revertS: expected whole seconds 1-65535 (123 WMaxLimPct_RvrtTms), got ${revertS}`)
        // WinTms 0: apply now, no randomised window; RvrtTms: the device lifts the cap itself if not re-written.
        const values: [string, number][] = revertS === undefined ? [['WMaxLimPct', value]] : [['WMaxLimPct', value], ['WMaxLimPct_WinTms', 0], ['WMaxLimPct_RvrtTms', revertS]]
        const limit = await writePoints(controls, values, 'WMaxLimPct', pct, clamped)
        const enable = await writePoints(controls, [['WMaxLim_Ena', 1]], 'WMaxLim_Ena', 1, false)
        return { ...limit, verified: limit.verified && enable.verified }
      },
      async clearPowerLimit() {
        if (!controls) throw new SunSpecDriverError(`${name}: no model 123 (immediate controls)`)
        return writePoints(controls, [['WMaxLim_Ena', 0]], 'WMaxLim_Ena', 0, false)
      },
    }
  }

  if (storageModel) {
    capabilities.push('battery')
    const base = byId.get(802) ? await read(byId.get(802)!) : null
    const maxChargeW = (base && num(base, 'WChaRteMax')) ?? (nameplate && num(nameplate, 'MaxChaRte'))
    const maxDischargeW = (base && num(base, 'WDisChaRteMax')) ?? (nameplate && num(nameplate, 'MaxDisChaRte'))
    const der = byId.get(704)
    const storageBasics = byId.get(713) ? await read(byId.get(713)!) : null
    battery = {
      maxChargeW,
      maxDischargeW,
      capacityWh: (base && num(base, 'WHRtg')) ?? (storageBasics && num(storageBasics, 'WHRtg')) ?? (nameplate && num(nameplate, 'WHRtg')),
      socMinPct: base && num(base, 'SoCMin'),
      socMaxPct: base && num(base, 'SoCMax'),
      async readBattery() {
        const b802 = byId.get(802) ? await read(byId.get(802)!) : null
        if (b802) return { powerW: num(b802, 'W'), socPct: num(b802, 'SoC'), fault: num(b802, 'State') === 99, socStepPct: stepOf(b802, 'SoC') }
        const storage = await read(storageModel)
        const ac = inverterModel ? await read(inverterModel) : null
        const socPath = num(storage, 'ChaState') !== null ? 'ChaState' : 'SoC'
        return { powerW: ac ? num(ac, 'W') : null, socPct: num(storage, socPath), fault: ac ? num(ac, 'St') === 7 : false, socStepPct: stepOf(storage, socPath) }
      },
      async setPowerW(powerW) {
        if (!der) throw new SunSpecDriverError(`${name}: no model 704 (DER AC controls): the battery power cannot be set`)
        if (maxChargeW === null || maxDischargeW === null) throw new SunSpecDriverError(`${name}: the battery does not report its charge/discharge ratings (802 WChaRteMax/WDisChaRteMax or 120 MaxChaRte/MaxDisChaRte); refusing to write an unbounded setpoint`)
        const { value, clamped } = clampTo(powerW, -maxChargeW, maxDischargeW)
        return writePoints(der, [['WSetEna', 1], ['WSetMod', 1], ['WSet', value]], 'WSet', powerW, clamped)
      },
      async releasePower() {
        if (!der) throw new SunSpecDriverError(`${name}: no model 704 (DER AC controls)`)
        return writePoints(der, [['WSetEna', 0]], 'WSetEna', 0, false)
      },
    }
  }

  return {
    name,
    driver: 'sunspec',
    identity,
    capabilities,
    ...(meter && { meter }),
    ...(pv && { pv }),
    ...(battery && { battery }),
    async readAll(): Promise<PointReading[]> {
      const models = await readSunSpecModels(client, discovery)
      const out: PointReading[] = []
      for (const m of models) {
        for (const [path, p] of m.points) {
          const t = p.point.definition.type
          if (t === 'sunssf' || t === 'pad' || path === 'ID' || path === 'L') continue
          out.push({ name: `${m.id}.${path}`, value: typeof p.value === 'bigint' ? Number(p.value) : p.value, units: p.units, ...(p.point.definition.label && { label: p.point.definition.label }) })
        }
      }
      for (const m of discovery.models.filter((x) => !x.known)) out.push({ name: `${m.id}`, value: `unknown model, ${m.length} registers at ${m.address}; skipped`, units: null })
      return out
    },
  }
}

