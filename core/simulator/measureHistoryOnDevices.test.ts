import { describe, expect, it } from 'vitest'
import type { BatteryControl, Meter, PvInverter } from '../devices/capabilities.ts'
import { measureHistoryOnDevices } from './measureHistoryOnDevices.ts'

/** A site with constant powers: load 1500 W, PV 2000 W, the battery charging at 300 W, so the grid exports 200 W. */
function constantSite() {
  let seconds = 0
  const wh = (w: number) => (w * seconds) / 3600
  const meter = { readMeter: async () => ({ powerW: -200, importWh: null, exportWh: wh(200), frequencyHz: 50, voltageV: 230 }) } as Meter
  const pv = { readPv: async () => ({ powerW: 2000, energyWh: wh(2000), limitPct: null, fault: false }) } as unknown as PvInverter
  const battery = { readBattery: async () => ({ powerW: -300, socPct: 50, fault: false }) } as unknown as BatteryControl
  return { advance: async (s: number) => (seconds += s), meter, pvs: [pv], batteries: [battery], seconds: () => seconds }
}

describe('measureHistoryOnDevices', () => {
  it('measures each slot’s load as grid + PV + battery from counters and samples, stepping the clock through the period', async () => {
    const site = constantSite()
    const slots = await measureHistoryOnDevices({ ...site, fromMs: 0, toMs: 3_600_000, slotMs: 900_000, sampleS: 300 })
    expect(slots.map((s) => s.startMs)).toEqual([0, 900_000, 1_800_000, 2_700_000])
    for (const s of slots) {
      expect(s.pvW).toBeCloseTo(2000, 6)
      expect(s.loadW).toBeCloseTo(1500, 6)
    }
    expect(site.seconds()).toBe(3600)
  })

  it('refuses a battery sample that does not divide the slot, by name', async () => {
    await expect(measureHistoryOnDevices({ ...constantSite(), fromMs: 0, toMs: 3_600_000, slotMs: 900_000, sampleS: 7 })).rejects.toThrow(/a 7 s sample does not divide the slot/)
  })
})
