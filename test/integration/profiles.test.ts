import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DeviceDriver } from '../../core/devices/capabilities.ts'
import { createModbusClient, type ModbusClient } from '../../core/devices/modbus/createModbusClient.ts'
import { createTcpTransport } from '../../core/devices/modbus/createTcpTransport.ts'
import { createDriverRegistry } from '../../core/devices/profiles/createDriverRegistry.ts'
import type { Profile, ReadRole } from '../../core/devices/profiles/profileSchema.ts'
import { profileFilesIn, registerProfiles } from '../../core/devices/profiles/registerProfiles.ts'
import { gridFrequency, gridVoltage } from '../../hardware-sims/devices/SimDevice.ts'
import { socPctOf } from '../../hardware-sims/physics/sitePhysics.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { stringify } from 'yaml'
import { parseSite } from '../../hardware-sims/site/loadSite.ts'
import { testSite } from '../support/simSites.ts'

const siteBase = { name: 'p', location: { latitudeDeg: 52.5, longitudeDeg: 13.4, timezone: 'Europe/Berlin' }, load: { peakW: 5000 } }

// Every profile in core/devices/profiles/ against the simulator serving the same file: the
// generic driver reads each capability, compared with the simulator's physics, and
// exercises every writable role (clamped, written, read back, verified, physics reacts).
const registry = createDriverRegistry()
const profiles = registerProfiles(registry, profileFilesIn())

const ratedW = 8000
const maxChargeW = 5000
const maxDischargeW = 4000
const commandTimeoutS = 60

it('a site file names a profile by id and rejects a malformed one', () => {
  const device = { name: 'm1', kind: 'meter', transport: { type: 'tcp', host: '127.0.0.1', port: 0, unitId: 1 } }
  expect(parseSite(stringify({ ...siteBase, devices: [{ ...device, profile: 'eastron-sdm630' }] }), 'site.yaml').devices[0]!.profile).toBe('eastron-sdm630')
  expect(() => parseSite(stringify({ ...siteBase, devices: [{ ...device, profile: 'Eastron SDM630' }] }), 'site.yaml')).toThrow(
    expect.objectContaining({ problems: ['devices[0].profile: a profile id such as eastron-sdm630, got "Eastron SDM630"'] }),
  )
})

/** The simulated device kind a profile is served as: the physics its writable roles act on. */
const kindOf = (p: Profile) => (p.capabilities.includes('battery') ? 'battery' : p.capabilities.includes('pv') ? 'inverter' : 'meter')

function siteFor(profile: Profile) {
  const kind = kindOf(profile)
  const transport = (unitId: number) => ({ type: 'tcp', port: 0, unitId })
  const inverter = { kind: 'inverter', ratedW, tiltDeg: 25, azimuthDeg: 0, commandTimeoutS }
  // An idle battery fallback keeps the grid flow non-zero, so a sign error cannot hide behind 0.
  const battery = { kind: 'battery', capacityWh: 13500, maxChargeW, maxDischargeW, initialSocPct: 50, commandTimeoutS, fallback: 'idle' }
  const devices: unknown[] = [
    kind === 'inverter' ? { name: 'dut', profile: profile.id, transport: transport(profile.defaults.unitId), ...inverter } : { name: 'pv1', transport: transport(1), ...inverter },
    kind === 'battery' ? { name: 'dut', profile: profile.id, transport: transport(profile.defaults.unitId), ...battery } : { name: 'bat1', transport: transport(1), ...battery },
    kind === 'meter' ? { name: 'dut', profile: profile.id, kind: 'meter', transport: transport(profile.defaults.unitId) } : { name: 'meter1', kind: 'meter', transport: transport(1) },
  ]
  return testSite({ devices })
}

/** How far a role's value may be from the physics: the registers' resolution, per point. */
function toleranceOf(profile: Profile, role: ReadRole, expected: number): number {
  const points = profile.roles[role]!.points.map((n) => [...profile.readings, ...profile.writes].find((p) => p.name === n)!)
  return points.reduce((sum, p) => sum + Math.abs(p.scale ?? 1), 0) + 1e-6 * Math.abs(expected)
}

describe.each(profiles.map((p) => [p.id, p] as const))('profile %s against the simulator', (_id, profile) => {
  let sim: Simulator
  let client: ModbusClient
  let driver: DeviceDriver
  const logs: string[] = []

  beforeAll(async () => {
    sim = await startSimulator(siteFor(profile), { log: () => {}, tickMs: 20 })
    const port = sim.ready.find((r) => r.device === 'dut')!.port!
    client = createModbusClient(createTcpTransport({ host: '127.0.0.1', port }), { timeoutMs: 2000 })
    driver = await registry.create(profile.id, { name: 'dut', client, limits: { ratedW, maxChargeW, maxDischargeW, capacityWh: 13500, socMinPct: 5, socMaxPct: 100 }, log: (m) => logs.push(m) })
    sim.advance(2 * 3_600_000) // accumulate energy: 13:00-15:00 local, summer
  })
  afterAll(async () => {
    await client?.close()
    await sim?.close()
  })

  const expectRole = (role: ReadRole, got: number | null, expected: number | null) => {
    if (!profile.roles[role]) return expect(got, `${role} is not in the profile`).toBeNull()
    expect(got, role).not.toBeNull()
    expect(Math.abs(got! - expected!), `${role}: got ${got}, physics ${expected}`).toBeLessThanOrEqual(toleranceOf(profile, role, expected!))
  }

  it('has exactly the capabilities the profile declares', () => {
    expect([...driver.capabilities].sort()).toEqual([...profile.capabilities].sort())
    expect(driver.driver).toBe(profile.id)
    for (const capability of ['meter', 'pv', 'battery'] as const) expect(driver[capability] !== undefined, capability).toBe(profile.capabilities.includes(capability))
  })

  it('reads every capability as the physics has it', async () => {
    const p = sim.physics
    if (driver.meter) {
      expect(Math.abs(p.gridW)).toBeGreaterThan(100)
      const m = await driver.meter.readMeter()
      expectRole('meter.powerW', m.powerW, p.gridW)
      expectRole('meter.importWh', m.importWh, p.energy.gridImportWh)
      expectRole('meter.exportWh', m.exportWh, p.energy.gridExportWh)
      expectRole('meter.frequencyHz', m.frequencyHz, gridFrequency(p.timeMs))
      const phases = profile.roles['meter.voltageV']?.points.length ?? 1
      expectRole('meter.voltageV', m.voltageV, Array.from({ length: phases }, (_, i) => gridVoltage(p.timeMs, i)).reduce((s, v) => s + v, 0) / phases)
    }
    if (driver.pv) {
      const inv = p.inverters[0]!
      expect(inv.powerW).toBeGreaterThan(100)
      const r = await driver.pv.readPv()
      expectRole('pv.powerW', r.powerW, inv.powerW)
      expectRole('pv.energyWh', r.energyWh, inv.energyWh)
      expect(r.fault).toBe(false)
    }
    if (driver.battery) {
      const bat = p.batteries[0]!
      const r = await driver.battery.readBattery()
      expectRole('battery.powerW', r.powerW, bat.powerW)
      expectRole('battery.socPct', r.socPct, socPctOf(bat))
    }
  })

  it('reads every point of the profile with its unit and label', async () => {
    const all = await driver.readAll()
    expect(all.map((r) => r.name).sort()).toEqual([...profile.readings, ...profile.writes].map((p) => p.name).sort())
    for (const r of all) {
      const point = [...profile.readings, ...profile.writes].find((p) => p.name === r.name)!
      expect(r.units).toBe(point.unit)
      expect(r.label).toBe(point.label)
      expect(typeof r.value).toBe('number')
    }
  })

  // A point the device marks "not available" (a NaN float or the profile's notAvailable value) reads as null, never a number.
  const sentinel = (Object.keys(profile.roles) as ReadRole[]).flatMap((role) => {
    const binding = profile.roles[role] as { points?: string[] }
    const p = [...profile.readings, ...profile.writes].find((q) => q.name === binding.points?.[0])
    return p && (p.type === 'float32' || p.notAvailable !== undefined) ? [{ role, point: p.name }] : []
  })[0]
  if (sentinel !== undefined) it('reads a "not available" register as null', async () => {
    const { role, point } = sentinel!
    const api = (method: string, body?: unknown) => fetch(`${sim.apiUrl}/api/devices/dut/faults`, { method, body: body === undefined ? undefined : JSON.stringify(body) })
    expect((await api('PUT', { sentinelPoints: [`0.${point}`] })).status).toBe(200)
    try {
      const [capability, field] = role.split('.') as ['meter' | 'pv' | 'battery', string]
      const read = capability === 'meter' ? await driver.meter!.readMeter() : capability === 'pv' ? await driver.pv!.readPv() : await driver.battery!.readBattery()
      expect((read as Record<string, unknown>)[field], role).toBeNull()
    } finally {
      await api('DELETE')
    }
  })

  if (profile.capabilities.includes('pv')) it('limits the PV power: clamped, written, read back, verified, and the inverter follows', async () => {
    const pv = driver.pv!
    const inv = () => sim.physics.inverters[0]!
    const logged = logs.length
    const r = await pv.setPowerLimitPct(25)
    expect(r).toMatchObject({ requested: 25, written: 25, clamped: false, readBack: 25, verified: true })
    expect(inv().limitPct?.value).toBe(25)
    sim.advance(5000)
    expect(inv().powerW).toBeLessThanOrEqual(0.25 * ratedW + 1e-6)
    expect((await pv.readPv()).limitPct).toBe(25)
    expect(logs.length).toBeGreaterThan(logged)
    expect(logs.at(-1)).toContain('verified')

    const low = await pv.setPowerLimitPct(-5)
    expect(low).toMatchObject({ requested: -5, written: 0, clamped: true, verified: true })
    sim.advance(2000)
    expect(inv().powerW).toBe(0)
    const high = await pv.setPowerLimitPct(140)
    expect(high).toMatchObject({ requested: 140, written: 100, clamped: true, verified: true })

    await pv.setPowerLimitPct(40)
    const cleared = await pv.clearPowerLimit()
    expect(cleared.verified).toBe(true)
    expect(inv().limitPct).toBeNull()
    expect((await pv.readPv()).limitPct).toBeNull()
    sim.advance(2000)
    expect(inv().powerW).toBeGreaterThan(0.4 * ratedW)
  })

  if (profile.capabilities.includes('battery')) it('sets the battery power: clamped, written, read back, verified, the battery follows and reverts', async () => {
    const battery = driver.battery!
    const bat = () => sim.physics.batteries[0]!
    expect(battery.maxChargeW).toBe(maxChargeW)
    expect(battery.maxDischargeW).toBe(maxDischargeW)
    expect([battery.capacityWh, battery.socMinPct, battery.socMaxPct]).toEqual([13500, 5, 100])
    const socBefore = socPctOf(bat())
    const r = await battery.setPowerW(-2000)
    expect(r).toMatchObject({ requested: -2000, written: -2000, clamped: false, readBack: -2000, verified: true })
    expect(bat().setpointW?.value).toBe(-2000)
    sim.advance(10_000)
    expect(bat().powerW).toBe(-2000) // charging, GridMesh sign
    const read = await battery.readBattery()
    expect(read.powerW).toBeCloseTo(-2000, 0)
    expect(read.socPct!).toBeGreaterThan(socBefore - 1) // integer SoC registers round

    const high = await battery.setPowerW(1e6)
    expect(high).toMatchObject({ written: maxDischargeW, clamped: true, verified: true })
    expect(bat().setpointW?.value).toBe(maxDischargeW)
    const low = await battery.setPowerW(-1e6)
    expect(low).toMatchObject({ written: -maxChargeW, clamped: true, verified: true })

    const released = await battery.releasePower()
    expect(released.verified).toBe(true)
    expect(bat().setpointW).toBeNull()

    // Not refreshed within the device's command timeout: the simulated device reverts on its own.
    await battery.setPowerW(1500)
    sim.advance((commandTimeoutS + 1) * 1000)
    expect(bat().setpointW).toBeNull()
    expect(sim.recentEvents().some((e) => e.includes('dut: setpoint not refreshed'))).toBe(true)
  })
})
