import type { InverterState, SitePhysics } from '../physics/sitePhysics.ts'
import type { InverterConfig } from '../site/siteSchema.ts'
import { fillCommonModel, rejection, setAcMeasurements, sunSpecSeconds, type SimDevice } from './SimDevice.ts'
import { ModbusException, scaleFactorFor, SunSpecImage } from './SunSpecImage.ts'

/** Models served by the PV inverter. */
export const inverterModels = [1, 103, 120, 121, 122, 123] as const

// Model 103 St values (operating state).
const St = { OFF: 1, SLEEPING: 2, MPPT: 4, THROTTLED: 5, FAULT: 7 } as const

/** A three-phase PV inverter: 103 measurements, 120/121 ratings, 123 power-limit control. */
export function createInverter(config: InverterConfig, physicsIndex: number): SimDevice {
  const image = new SunSpecImage(config.sunspecBase, inverterModels)
  fillCommonModel(image, config, `GM-PV-${Math.round(config.ratedW / 1000)}K`)
  const wSf = scaleFactorFor(config.ratedW * 1.2, 'int16', 0)
  const aSf = scaleFactorFor(config.ratedW / 3 / 200, 'uint16', -2)
  const setSf = (model: number, entries: Record<string, number>) => {
    for (const [path, sf] of Object.entries(entries)) image.set(model, path, sf)
  }
  setSf(103, { A_SF: aSf, V_SF: -1, W_SF: wSf, Hz_SF: -2, VA_SF: wSf, VAr_SF: wSf, PF_SF: -1, WH_SF: 0, DCA_SF: -2, DCV_SF: -1, DCW_SF: wSf, Tmp_SF: -1 })
  setSf(120, { WRtg_SF: wSf, VARtg_SF: wSf, VArRtg_SF: wSf, ARtg_SF: aSf, PFRtg_SF: -2 })
  image.set(120, 'DERTyp', 4) // PV
  image.set(120, 'WRtg', config.ratedW)
  image.set(120, 'VARtg', config.ratedW)
  for (const q of ['Q1', 'Q2', 'Q3', 'Q4']) image.set(120, `VArRtg${q}`, (q === 'Q1' || q === 'Q2' ? 0.44 : -0.44) * config.ratedW)
  image.set(120, 'ARtg', config.ratedW / 3 / 230)
  for (const q of ['Q1', 'Q2', 'Q3', 'Q4']) image.set(120, `PFRtg${q}`, q === 'Q1' || q === 'Q4' ? 0.9 : -0.9)
  setSf(121, { WMax_SF: wSf, VRef_SF: -1, VRefOfs_SF: -1, VMinMax_SF: -1, VAMax_SF: wSf, VArMax_SF: wSf, WGra_SF: 0, PFMin_SF: -2, MaxRmpRte_SF: 0, ECPNomHz_SF: -2 })
  image.set(121, 'WMax', config.ratedW)
  image.set(121, 'VRef', 230)
  image.set(121, 'VRefOfs', 0)
  image.set(121, 'VMax', 253)
  image.set(121, 'VMin', 196)
  image.set(121, 'VAMax', config.ratedW)
  image.set(121, 'ECPNomHz', 50)
  image.set(121, 'ConnPh', 3)
  setSf(122, { VArAval_SF: wSf, WAval_SF: wSf })
  image.set(122, 'TmSrc', 'RTC')
  image.set(122, 'StorConn', 0)
  image.set(122, 'ECPConn', 1)
  image.set(123, 'WMaxLimPct_SF', -1)
  // Mandatory points of 123 the simulator does not act on: unity power factor, functions off.
  image.set(123, 'OutPFSet_SF', -3)
  image.set(123, 'OutPFSet', 1)
  image.set(123, 'OutPFSet_Ena', 0)
  image.set(123, 'VArPct_Ena', 0)
  image.set(123, 'Conn', 1)
  image.set(123, 'WMaxLimPct', 100)
  image.set(123, 'WMaxLim_Ena', 0)
  image.set(123, 'WMaxLimPct_RvrtTms', 0)
  image.set(123, 'WMaxLimPct_WinTms', 0)
  image.set(123, 'WMaxLimPct_RmpTms', 0)
  image.allowWrites(123, ['Conn', 'WMaxLimPct', 'WMaxLimPct_WinTms', 'WMaxLimPct_RvrtTms', 'WMaxLimPct_RmpTms', 'WMaxLim_Ena'])

  const state = (physics: SitePhysics): InverterState => physics.inverters[physicsIndex]!

  return {
    name: config.name,
    kind: 'inverter',
    config,
    image,
    refresh(physics) {
      const inv = state(physics)
      const t = physics.timeMs
      if (!inv.limitPct && image.get(123, 'WMaxLim_Ena') === 1) {
        // The limit expired in the physics: show the revert in the registers.
        image.set(123, 'WMaxLim_Ena', 0)
        image.set(123, 'WMaxLimPct', 100)
      }
      const w = inv.powerW
      setAcMeasurements(image, t, w)
      image.set(103, 'WH', Math.floor(inv.energyWh))
      const dcW = w > 0 ? w / 0.97 : 0
      const dcV = w > 0 ? 580 + 40 * (1 - w / config.ratedW) : physics.clearness > 0.05 && inv.availableW > 0 ? 620 : 0
      image.set(103, 'DCV', dcV)
      image.set(103, 'DCA', dcV > 0 ? dcW / dcV : 0)
      image.set(103, 'DCW', dcW)
      image.set(103, 'TmpCab', 25 + 20 * (w / config.ratedW))
      image.set(103, 'TmpSnk', 25 + 30 * (w / config.ratedW))
      const throttled = inv.limitPct !== null && inv.availableW > inv.powerW + 1
      const st = inv.tripped ? St.FAULT : !inv.connected ? St.OFF : inv.availableW <= 0 ? St.SLEEPING : throttled ? St.THROTTLED : St.MPPT
      image.set(103, 'St', st)
      image.set(103, 'Evt1', inv.tripped ? 1 << 0 : 0) // GROUND_FAULT: the trip we simulate
      image.set(103, 'Evt2', 0)
      image.set(122, 'PVConn', inv.tripped || !inv.connected ? 0b010 : 0b111)
      image.set(122, 'ActWh', BigInt(Math.floor(inv.energyWh)))
      image.set(122, 'WAval', inv.availableW)
      image.set(122, 'StActCtl', inv.limitPct ? 1 : 0) // bit 0 FixedW: power limit in force
      image.set(122, 'Tms', sunSpecSeconds(t))
    },
    applyWrites(writes, physics) {
      const inv = state(physics)
      for (const w of writes) {
        const v = Number(w.value)
        if (w.path === 'WMaxLimPct' && !(v >= 0 && v <= 100)) return rejection(ModbusException.IllegalDataValue, `WMaxLimPct must be 0..100 %, got ${v}`)
        if ((w.path === 'WMaxLim_Ena' || w.path === 'Conn') && v !== 0 && v !== 1) return rejection(ModbusException.IllegalDataValue, `${w.path} must be 0 or 1, got ${v}`)
      }
      for (const w of writes) if (w.path === 'Conn') inv.connected = Number(w.value) === 1
      const touchesLimit = writes.some((w) => w.path === 'WMaxLimPct' || w.path === 'WMaxLim_Ena' || w.path === 'WMaxLimPct_RvrtTms')
      if (touchesLimit) {
        const valueOf = (path: string) => Number(writes.find((w) => w.path === path)?.value ?? image.get(123, path))
        const enabled = valueOf('WMaxLim_Ena') === 1
        const revertS = valueOf('WMaxLimPct_RvrtTms') || config.commandTimeoutS
        inv.limitPct = enabled ? { value: valueOf('WMaxLimPct'), expiresAtMs: physics.timeMs + revertS * 1000 } : null
      }
      return null
    },
  }
}
