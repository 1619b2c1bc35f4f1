import { socPctOf, type BatteryState, type SitePhysics } from '../physics/sitePhysics.ts'
import type { BatteryConfig } from '../site/siteSchema.ts'
import { fillCommonModel, rejection, setAcMeasurements, type SimDevice, type WriteRejection } from './SimDevice.ts'
import { ModbusException, scaleFactorFor, SunSpecImage, type PointWrite } from './SunSpecImage.ts'

/** Models served by the battery (storage inverter with its battery bank). */
export const batteryModels = [1, 103, 120, 124, 704, 713, 802] as const

const nominalV = 51.2 // a 16-cell LiFePO4 bank
const St = { OFF: 1, MPPT: 4, FAULT: 7, STANDBY: 8 } as const
const ChaSt = { OFF: 1, EMPTY: 2, DISCHARGING: 3, CHARGING: 4, FULL: 5, HOLDING: 6 } as const
const State = { DISCONNECTED: 1, CONNECTED: 3, FAULT: 99 } as const

const controlPaths704 = ['WSetEna', 'WSetMod', 'WSet', 'WSetPct', 'WSetRvrtTms'] as const
const controlPaths124 = ['StorCtl_Mod', 'InWRte', 'OutWRte', 'InOutWRte_RvrtTms', 'ChaGriSet'] as const
const controlPaths802 = ['CtrlHb', 'AlmRst', 'SetOp'] as const

/**
 * A storage inverter and battery bank. Power is set with model 704 (WSetEna=1, WSetMod=1
 * watts, WSet > 0 discharge / < 0 charge) and capped with model 124 (StorCtl_Mod bits and
 * InWRte/OutWRte %). Any control write or an 802 CtrlHb write refreshes the command
 * timeout; without one the battery falls back to its configured mode.
 */
export function createBattery(config: BatteryConfig, physicsIndex: number): SimDevice {
  const image = new SunSpecImage(config.sunspecBase, batteryModels)
  fillCommonModel(image, config, `GM-BAT-${Math.round(config.capacityWh / 1000)}K`)
  const maxW = Math.max(config.maxChargeW, config.maxDischargeW)
  const wSf = scaleFactorFor(maxW * 1.2, 'int16', 0)
  const whSf = scaleFactorFor(config.capacityWh, 'uint16', 0)
  const ahRtg = config.capacityWh / nominalV
  const sfs: Record<number, Record<string, number>> = {
    103: { A_SF: -2, V_SF: -1, W_SF: wSf, Hz_SF: -2, VA_SF: wSf, VAr_SF: wSf, PF_SF: -1, WH_SF: 0, DCA_SF: -1, DCV_SF: -1, DCW_SF: wSf, Tmp_SF: -1 },
    120: { WRtg_SF: wSf, VARtg_SF: wSf, VArRtg_SF: wSf, ARtg_SF: -1, PFRtg_SF: -2, WHRtg_SF: whSf, AhrRtg_SF: scaleFactorFor(ahRtg, 'uint16', -1), MaxChaRte_SF: wSf, MaxDisChaRte_SF: wSf },
    124: { WChaMax_SF: wSf, WChaDisChaGra_SF: 0, MinRsvPct_SF: -1, ChaState_SF: -1, StorAval_SF: scaleFactorFor(ahRtg, 'uint16', -1), InBatV_SF: -1, InOutWRte_SF: -1 },
    704: { WSet_SF: 0, WSetPct_SF: -1 },
    713: { WH_SF: whSf, Pct_SF: -1 },
    802: {
      AHRtg_SF: scaleFactorFor(ahRtg, 'uint16', -1), WHRtg_SF: whSf, WChaDisChaMax_SF: wSf, SoC_SF: -1, DoD_SF: -1, SoH_SF: 0,
      V_SF: -1, CellV_SF: -3, A_SF: scaleFactorFor((maxW / nominalV) * 1.5, 'int16', -1), AMax_SF: scaleFactorFor((maxW / nominalV) * 1.5, 'uint16', -1), W_SF: wSf,
    },
  }
  for (const [model, entries] of Object.entries(sfs)) for (const [path, sf] of Object.entries(entries)) image.set(Number(model), path, sf)

  image.set(120, 'DERTyp', 82) // PV_STOR
  image.set(120, 'WRtg', config.maxDischargeW)
  image.set(120, 'VARtg', config.maxDischargeW)
  for (const q of ['Q1', 'Q2', 'Q3', 'Q4']) image.set(120, `VArRtg${q}`, (q === 'Q1' || q === 'Q2' ? 0.44 : -0.44) * config.maxDischargeW)
  image.set(120, 'ARtg', config.maxDischargeW / 230)
  for (const q of ['Q1', 'Q2', 'Q3', 'Q4']) image.set(120, `PFRtg${q}`, q === 'Q1' || q === 'Q4' ? 0.9 : -0.9)
  image.set(120, 'WHRtg', config.capacityWh)
  image.set(120, 'AhrRtg', ahRtg)
  image.set(120, 'MaxChaRte', config.maxChargeW)
  image.set(120, 'MaxDisChaRte', config.maxDischargeW)
  image.set(124, 'WChaMax', config.maxChargeW)
  image.set(124, 'WChaGra', 100)
  image.set(124, 'WDisChaGra', 100)
  image.set(124, 'StorCtl_Mod', 0)
  image.set(124, 'MinRsvPct', config.socMinPct)
  image.set(124, 'InWRte', 100)
  image.set(124, 'OutWRte', 100)
  image.set(124, 'InOutWRte_WinTms', 0)
  image.set(124, 'InOutWRte_RvrtTms', 0)
  image.set(124, 'InOutWRte_RmpTms', 0)
  image.set(124, 'ChaGriSet', 1) // GRID: may charge from the grid
  image.set(704, 'WSetEna', 0)
  image.set(704, 'WSetMod', 1)
  image.set(704, 'WSet', 0)
  image.set(704, 'WSetPct', 0)
  image.set(704, 'WSetRvrtTms', 0)
  image.set(704, 'WSetRvrtRem', 0)
  image.set(713, 'WHRtg', config.capacityWh)
  image.set(713, 'SoH', 100)
  image.set(802, 'AHRtg', ahRtg)
  image.set(802, 'WHRtg', config.capacityWh)
  image.set(802, 'WChaRteMax', config.maxChargeW)
  image.set(802, 'WDisChaRteMax', config.maxDischargeW)
  image.set(802, 'SoCMax', config.socMaxPct)
  image.set(802, 'SoCMin', config.socMinPct)
  image.set(802, 'SocRsvMax', config.socMaxPct)
  image.set(802, 'SoCRsvMin', config.socMinPct)
  image.set(802, 'SoH', 100)
  image.set(802, 'LocRemCtl', 0) // REMOTE
  image.set(802, 'CtrlHb', 0)
  image.set(802, 'AlmRst', 0)
  image.set(802, 'Typ', 4) // LITHIUM_ION
  image.set(802, 'AChaMax', config.maxChargeW / nominalV)
  image.set(802, 'ADisChaMax', config.maxDischargeW / nominalV)
  image.set(802, 'SetOp', 1)
  image.set(802, 'SetInvState', 3) // INVERTER_STARTED
  for (const evt of ['Evt2', 'EvtVnd1', 'EvtVnd2']) image.set(802, evt, 0)
  image.set(103, 'Evt2', 0)
  image.allowWrites(704, controlPaths704)
  image.allowWrites(124, controlPaths124)
  image.allowWrites(802, controlPaths802)

  const state = (physics: SitePhysics): BatteryState => physics.batteries[physicsIndex]!
  const current = (writes: PointWrite[], model: number, path: string): number =>
    Number(writes.find((w) => w.modelId === model && w.path === path)?.value ?? image.get(model, path) ?? 0)

  function validate(writes: PointWrite[]): WriteRejection | null {
    for (const w of writes) {
      const v = Number(w.value)
      const bad = (expected: string) => rejection(ModbusException.IllegalDataValue, `${w.modelId}.${w.path}: expected ${expected}, got ${String(w.value)}`)
      if (w.value === null || Number.isNaN(v)) return bad('a value')
      switch (w.path) {
        case 'WSetEna': case 'WSetMod': if (v !== 0 && v !== 1) return bad('0 or 1'); break
        case 'WSet': if (v < -config.maxChargeW || v > config.maxDischargeW) return bad(`-${config.maxChargeW}..${config.maxDischargeW} W`); break
        case 'WSetPct': if (v < -100 || v > 100) return bad('-100..100 %'); break
        case 'InWRte': case 'OutWRte': if (v < 0 || v > 100) return bad('0..100 %'); break
        case 'StorCtl_Mod': if (v & ~0b11) return bad('bits 0 (CHARGE) and 1 (DISCHARGE) only'); break
        case 'SetOp': if (v !== 1 && v !== 2) return bad('1 (CONNECT) or 2 (DISCONNECT)'); break
        case 'ChaGriSet': if (v !== 0 && v !== 1) return bad('0 (PV) or 1 (GRID)'); break
      }
    }
    return null
  }

  return {
    name: config.name,
    kind: 'battery',
    config,
    image,
    refresh(physics) {
      const bat = state(physics)
      const t = physics.timeMs
      // Show reverts that happened in the physics.
      if (!bat.setpointW && image.get(704, 'WSetEna') === 1) image.set(704, 'WSetEna', 0)
      const mod = Number(image.get(124, 'StorCtl_Mod') ?? 0)
      const keep = (bat.chargeLimitPct ? 1 : 0) | (bat.dischargeLimitPct ? 2 : 0)
      if ((mod & ~keep) !== 0) image.set(124, 'StorCtl_Mod', mod & keep)
      image.set(704, 'WSetRvrtRem', bat.setpointW ? Math.max(0, Math.ceil((bat.setpointW.expiresAtMs - t) / 1000)) : 0)

      const soc = socPctOf(bat)
      const w = bat.powerW
      const dcV = nominalV * (0.94 + 0.1 * (soc / 100)) - (w / nominalV) * 0.01
      const idle = Math.abs(w) < 1
      const chaSt = bat.tripped || !bat.connected ? ChaSt.OFF
        : soc <= bat.config.socMinPct + 0.05 && w >= 0 ? ChaSt.EMPTY
        : soc >= bat.config.socMaxPct - 0.05 && w <= 0 ? ChaSt.FULL
        : idle ? ChaSt.HOLDING : w > 0 ? ChaSt.DISCHARGING : ChaSt.CHARGING
      setAcMeasurements(image, t, w)
      image.set(103, 'WH', Math.floor(bat.dischargedWh))
      image.set(103, 'DCV', dcV)
      image.set(103, 'DCA', w / dcV)
      image.set(103, 'DCW', w)
      image.set(103, 'TmpCab', 25 + 10 * (Math.abs(w) / maxW))
      image.set(103, 'St', bat.tripped ? St.FAULT : !bat.connected ? St.OFF : idle ? St.STANDBY : St.MPPT)
      image.set(103, 'Evt1', bat.tripped ? 1 << 0 : 0)
      image.set(124, 'ChaState', soc)
      image.set(124, 'StorAval', (Math.max(0, soc - bat.config.socMinPct) / 100) * ahRtg)
      image.set(124, 'InBatV', dcV)
      image.set(124, 'ChaSt', chaSt)
      image.set(713, 'WHAvail', Math.max(0, bat.storedWh - (bat.config.socMinPct / 100) * bat.config.capacityWh))
      image.set(713, 'SoC', soc)
      image.set(713, 'Sta', bat.tripped ? 2 : 0)
      image.set(802, 'SoC', soc)
      image.set(802, 'DoD', 100 - soc)
      image.set(802, 'NCyc', Math.floor(bat.cellOutWh / bat.config.capacityWh))
      image.set(802, 'ChaSt', chaSt)
      image.set(802, 'Hb', Math.floor(t / 1000) % 65_535)
      image.set(802, 'State', bat.tripped ? State.FAULT : bat.connected ? State.CONNECTED : State.DISCONNECTED)
      image.set(802, 'Evt1', bat.tripped ? 1 << 0 : 0)
      image.set(802, 'V', dcV)
      image.set(802, 'VMax', nominalV * 1.06)
      image.set(802, 'VMin', nominalV * 0.9)
      image.set(802, 'CellVMax', dcV / 16 + 0.004)
      image.set(802, 'CellVMaxStr', 1)
      image.set(802, 'CellVMaxMod', 1)
      image.set(802, 'CellVMin', dcV / 16 - 0.004)
      image.set(802, 'CellVMinStr', 1)
      image.set(802, 'CellVMinMod', 1)
      image.set(802, 'CellVAvg', dcV / 16)
      image.set(802, 'A', w / dcV)
      image.set(802, 'W', w)
    },
    applyWrites(writes, physics) {
      const rejected = validate(writes)
      if (rejected) return rejected
      const bat = state(physics)
      const now = physics.timeMs
      for (const w of writes) if (w.path === 'SetOp') bat.connected = Number(w.value) === 1
      const touches = (paths: readonly string[]) => writes.some((w) => paths.includes(w.path))
      const heartbeat = writes.some((w) => w.path === 'CtrlHb')
      if (touches(controlPaths704) || (heartbeat && bat.setpointW)) {
        const revertS = current(writes, 704, 'WSetRvrtTms') || config.commandTimeoutS
        if (current(writes, 704, 'WSetEna') === 1) {
          const watts = current(writes, 704, 'WSetMod') === 1
            ? current(writes, 704, 'WSet')
            : (current(writes, 704, 'WSetPct') / 100) * (current(writes, 704, 'WSetPct') >= 0 ? config.maxDischargeW : config.maxChargeW)
          bat.setpointW = { value: watts, expiresAtMs: now + revertS * 1000 }
        } else bat.setpointW = null
      }
      if (touches(['StorCtl_Mod', 'InWRte', 'OutWRte', 'InOutWRte_RvrtTms']) || (heartbeat && (bat.chargeLimitPct || bat.dischargeLimitPct))) {
        const revertS = current(writes, 124, 'InOutWRte_RvrtTms') || config.commandTimeoutS
        const mod = current(writes, 124, 'StorCtl_Mod')
        bat.chargeLimitPct = mod & 1 ? { value: current(writes, 124, 'InWRte'), expiresAtMs: now + revertS * 1000 } : null
        bat.dischargeLimitPct = mod & 2 ? { value: current(writes, 124, 'OutWRte'), expiresAtMs: now + revertS * 1000 } : null
      }
      return null
    },
  }
}
