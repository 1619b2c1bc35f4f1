import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Profile } from '../../core/devices/profiles/profileSchema.ts'
import { loadProfile } from '../../core/devices/profiles/loadProfile.ts'
import { profileFilesIn } from '../../core/devices/profiles/registerProfiles.ts'
import { gridFrequency } from '../../hardware-sims/devices/SimDevice.ts'
import { socPctOf } from '../../hardware-sims/physics/sitePhysics.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { RawModbusTcp } from '../support/rawModbusTcp.ts'
import { testSite } from '../support/simSites.ts'

// The profiles' data checked against the vendors' documents, independently of the profile
// codec: raw frames decoded here by hand, with the vendor's own sign and units, compared
// with the simulator's physics. The generic driver and the simulator share the profile, so
// a wrong sign or address in a profile would pass profiles.test.ts; it cannot pass this.
// Every profile needs an entry here.

type Raw = { read(fc: 3 | 4, unitId: number, address: number, count: number): Promise<Buffer | number>; write(unitId: number, address: number, values: number[]): Promise<void> }
type Check = { kind: 'meter' | 'inverter' | 'battery'; unitId: number; run(raw: Raw, sim: Simulator): Promise<void> }

const data = (r: Buffer | number): Buffer => {
  if (typeof r === 'number') throw new Error(`exception ${r}`)
  return r
}

const checks: Record<string, Check> = {
  // Eastron SDM630-Modbus V2 manual 1.2: FC 0x04, float32 high word first; 30053 (0x0034)
  // total system power, import positive; 30073 (0x0048) / 30075 (0x004A) import / export kWh; 30071 (0x0046) Hz.
  'eastron-sdm630': {
    kind: 'meter',
    unitId: 1,
    async run(raw, sim) {
      const p = sim.physics
      expect(data(await raw.read(4, 1, 0x0034, 2)).readFloatBE(0)).toBeCloseTo(p.gridW, 0)
      expect(data(await raw.read(4, 1, 0x0048, 2)).readFloatBE(0)).toBeCloseTo(p.energy.gridImportWh / 1000, 3)
      expect(data(await raw.read(4, 1, 0x004a, 2)).readFloatBE(0)).toBeCloseTo(p.energy.gridExportWh / 1000, 3)
      expect(data(await raw.read(4, 1, 0x0046, 2)).readFloatBE(0)).toBeCloseTo(gridFrequency(p.timeMs), 3)
      // Input registers, not holding ones: the same address on FC 0x03 is not a measurement.
      expect(await raw.read(3, 1, 0x0034, 2)).toBe(2)
    },
  },
  // Huawei Solar Inverter Modbus Interface Definitions V3.0: FC 0x03, big-endian. 32080 active
  // power I32 W (gain 1000 kW); 32106 accumulated yield U32 kWh gain 100; 37113 meter active
  // power I32 W, > 0 feed-in; 40125 active power percentage derating I16 % gain 10 (RW).
  'huawei-sun2000': {
    kind: 'inverter',
    unitId: 1,
    async run(raw, sim) {
      const p = sim.physics
      const inv = p.inverters.find((i) => i.config.name === 'dut')!
      expect(data(await raw.read(3, 1, 32080, 2)).readInt32BE(0)).toBe(Math.round(inv.powerW))
      expect(data(await raw.read(3, 1, 32106, 2)).readUInt32BE(0) / 100).toBeCloseTo(inv.energyWh / 1000, 1)
      expect(data(await raw.read(3, 1, 37113, 2)).readInt32BE(0)).toBe(Math.round(-p.gridW))
      await raw.write(1, 40125, [500]) // 50.0 %
      expect(inv.limitPct?.value).toBe(50)
      sim.advance(2000)
      expect(inv.powerW).toBeLessThanOrEqual(0.5 * inv.config.ratedW + 1e-6)
      expect(data(await raw.read(3, 1, 40125, 1)).readInt16BE(0)).toBe(500)
      // 150 % is outside the profile's limits: Illegal Data Value, nothing changes.
      await expect(raw.write(1, 40125, [1500])).rejects.toThrow('exception 3')
      expect(inv.limitPct?.value).toBe(50)
      await expect(raw.write(1, 32080, [0, 1])).rejects.toThrow('exception 2') // a measurement is read-only
    },
  },
  // SMA Modbus list (STP xx000TL-30): FC 0x03 on unit 3, big-endian. 30775 GridMs.TotW S32 FIX0 W;
  // 30529 Metering.TotWhOut U32 FIX0 Wh; 40023 WNomPrc S16 FIX2 % (10000 = 100.00 %); NaN S32 0x80000000.
  'sma-sunny-tripower': {
    kind: 'inverter',
    unitId: 3,
    async run(raw, sim) {
      const inv = sim.physics.inverters.find((i) => i.config.name === 'dut')!
      expect(data(await raw.read(3, 3, 30775, 2)).readInt32BE(0)).toBe(Math.round(inv.powerW))
      expect(data(await raw.read(3, 3, 30529, 2)).readUInt32BE(0)).toBe(Math.round(inv.energyWh))
      await raw.write(3, 40023, [2500]) // 25.00 %
      expect(inv.limitPct?.value).toBe(25)
      sim.advance(2000)
      expect(inv.powerW).toBeLessThanOrEqual(0.25 * inv.config.ratedW + 1e-6)
      await raw.write(3, 40023, [10000]) // 100.00 %: no limit
      expect(inv.limitPct).toBeNull()
      expect(await raw.read(3, 3, 30774, 3)).toBe(2) // 30774 is not in the list
    },
  },
  // Victron CCGX Modbus TCP register list 3.00: unit 100 com.victronenergy.system 820-822 grid
  // L1-L3 int16 W (import positive), 842 battery power int16 W (positive charging), 843 SoC
  // uint16 %; unit 100 settings 2902 Hub4Mode (3 = external control); vebus (unit 227 on a
  // Cerbo) 37 ESS setpoint int16 W, positive takes power from AC-in; 9 input frequency /100.
  'victron-gx': {
    kind: 'battery',
    unitId: 100,
    async run(raw, sim) {
      const p = sim.physics
      const bat = p.batteries.find((b) => b.config.name === 'dut')!
      await raw.write(100, 2902, [3])
      await raw.write(227, 37, [1500]) // charge 1500 W from AC-in
      sim.advance(5000)
      expect(bat.powerW).toBe(-1500) // GridMesh: charging is negative
      const grid = data(await raw.read(3, 100, 820, 3))
      expect(grid.readInt16BE(0) + grid.readInt16BE(2) + grid.readInt16BE(4)).toBeCloseTo(p.gridW, -1)
      const battery = data(await raw.read(3, 100, 842, 2))
      expect(battery.readInt16BE(0)).toBe(1500) // Victron: charging is positive
      expect(battery.readUInt16BE(2)).toBe(Math.round(socPctOf(bat)))
      expect(data(await raw.read(3, 227, 9, 1)).readInt16BE(0) / 100).toBeCloseTo(gridFrequency(p.timeMs), 1)
      // The GX answers Illegal Data Address for registers it does not map, also inside a range.
      expect(await raw.read(3, 100, 819, 4)).toBe(2)
      await raw.write(100, 2902, [1]) // back to optimized ESS: the device's own mode
      expect(bat.setpointW).toBeNull()
    },
  },
}

const profiles: Profile[] = profileFilesIn().map((f) => loadProfile(f))

it('refuses to start a site that names a profile that does not exist, listing the known ones', async () => {
  const site = testSite({ devices: [{ name: 'm1', kind: 'meter', profile: 'acme-9000', transport: { type: 'tcp', port: 0 } }] })
  await expect(startSimulator(site, { log: () => {} })).rejects.toThrow(/device 'm1': no profile 'acme-9000' in .*; known: eastron-sdm630, /)
})

it('has a vendor check for every bundled profile', () => {
  expect(Object.keys(checks).sort()).toEqual(profiles.map((p) => p.id).sort())
})

describe.each(profiles.filter((p) => checks[p.id]).map((p) => [p.id, p] as const))('%s registers as the vendor documents them', (id, profile) => {
  const check = checks[id]!
  let sim: Simulator
  let client: RawModbusTcp

  beforeAll(async () => {
    const transport = { type: 'tcp', port: 0, unitId: check.unitId }
    const devices = [
      check.kind === 'inverter' ? { name: 'dut', kind: 'inverter', profile: profile.id, transport, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0 } : { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0 }, ratedW: 8000, tiltDeg: 25, azimuthDeg: 0 },
      check.kind === 'battery'
        ? { name: 'dut', kind: 'battery', profile: profile.id, transport, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, fallback: 'idle' }
        : { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 5000, fallback: 'idle' },
      check.kind === 'meter' ? { name: 'dut', kind: 'meter', profile: profile.id, transport } : { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0 } },
    ]
    sim = await startSimulator(testSite({ devices }), { log: () => {}, tickMs: 20 })
    sim.advance(3_600_000)
    client = await RawModbusTcp.open(sim.ready.find((r) => r.device === 'dut')!.port!)
  })
  afterAll(async () => {
    client?.close()
    await sim?.close()
  })

  it('serves the documented addresses, types, scales and signs', async () => {
    const raw: Raw = {
      async read(fc, unitId, address, count) {
        const pdu = (await client.request(unitId, [fc, address >> 8, address & 0xff, 0, count]))!
        if (pdu[0]! & 0x80) return pdu[1]!
        return pdu.subarray(2)
      },
      async write(unitId, address, values) {
        const pdu = (await client.writeMultiple(unitId, address, values))!
        if (pdu[0]! & 0x80) throw new Error(`write at ${address} (unit ${unitId}): exception ${pdu[1]}`)
      },
    }
    await check.run(raw, sim)
  })
})
