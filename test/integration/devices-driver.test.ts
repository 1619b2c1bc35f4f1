import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createConnectionPool } from '../../core/devices/modbus/createConnectionPool.ts'
import { createSunSpecDriver } from '../../core/devices/sunspec/createSunSpecDriver.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { openPtyPair, type PtyPair } from '../support/ptyPair.ts'
import { testSite } from '../support/simSites.ts'

// The SunSpec driver's capabilities against the simulator, over TCP and over RTU.
let sim: Simulator
let pty: PtyPair
const pool = createConnectionPool({ timeoutMs: 1000 })
const writes: string[] = []

beforeAll(async () => {
  pty = await openPtyPair()
  sim = await startSimulator(
    testSite({
      devices: [
        { name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0 }, ratedW: 8000, azimuthDeg: 0, tiltDeg: 25 },
        { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: 13500, maxChargeW: 5000, maxDischargeW: 4000 },
        { name: 'meter1', kind: 'meter', transport: { type: 'rtu', path: pty.a, baudRate: 38400, unitId: 7 } },
      ],
    }),
    { log: () => {} },
  )
})
afterAll(async () => {
  await pool.close()
  await sim?.close()
  pty?.close()
})

const tcp = (name: string) => pool.get({ type: 'tcp', host: '127.0.0.1', port: sim.ready.find((r) => r.device === name)!.port! })
const log = (m: string) => writes.push(m)

describe('SunSpec driver', () => {
  it('gives each device exactly the capabilities its models imply, with its identity', async () => {
    const pv = await createSunSpecDriver({ name: 'pv1', client: tcp('pv1'), unitId: 1 })
    const bat = await createSunSpecDriver({ name: 'bat1', client: tcp('bat1'), unitId: 1 })
    const meter = await createSunSpecDriver({ name: 'meter1', client: pool.get({ type: 'rtu', path: pty.b, baudRate: 38400 }), unitId: 7 })
    expect(pv.capabilities).toEqual(['pv'])
    expect(bat.capabilities).toEqual(['battery'])
    expect(meter.capabilities).toEqual(['meter'])
    expect(pv.identity).toEqual({ manufacturer: 'GridMesh', model: 'GM-PV-8K', serialNumber: 'SIM-PV1', version: '1.0.0' })
    expect(pv.pv!.ratedW).toBe(8000)
    expect([bat.battery!.maxChargeW, bat.battery!.maxDischargeW]).toEqual([5000, 4000])
  })

  it('reads meter, PV and battery values that agree with the physics, with the site sign convention', async () => {
    sim.advance(1000)
    const pv = await createSunSpecDriver({ name: 'pv1', client: tcp('pv1'), unitId: 1 })
    const bat = await createSunSpecDriver({ name: 'bat1', client: tcp('bat1'), unitId: 1 })
    const meter = await createSunSpecDriver({ name: 'meter1', client: pool.get({ type: 'rtu', path: pty.b, baudRate: 38400 }), unitId: 7 })
    const m = await meter.meter!.readMeter()
    const p = await pv.pv!.readPv()
    const b = await bat.battery!.readBattery()
    expect(m.powerW).toBe(Math.round(sim.physics.gridW))
    expect(p.powerW).toBe(Math.round(sim.physics.inverters[0]!.powerW))
    expect(b.powerW).toBe(Math.round(sim.physics.batteries[0]!.powerW))
    expect(b.socPct).toBeCloseTo(50, 0)
    // load = pv + battery + grid, from three independent reads.
    expect(p.powerW! + b.powerW! + m.powerW!).toBeCloseTo(sim.physics.loadW, -1)
    expect(m.frequencyHz).toBeGreaterThan(49.9)
  })

  it('clamps a battery setpoint to the ratings, writes it, reads it back and moves the physics', async () => {
    const bat = await createSunSpecDriver({ name: 'bat1', client: tcp('bat1'), unitId: 1, log })
    const result = await bat.battery!.setPowerW(-12_000)
    expect(result).toEqual({ point: '704.WSet', requested: -12_000, written: -5000, clamped: true, readBack: -5000, verified: true })
    sim.advance(5000)
    expect(sim.physics.batteries[0]!.powerW).toBe(-5000)
    expect((await bat.battery!.readBattery()).powerW).toBe(-5000)
    expect(writes.at(-1)).toMatch(/bat1: wrote 704.WSetEna=1, 704.WSetMod=1, 704.WSet=-5000 \(clamped from -12000\); read back -5000 ok/)
    await bat.battery!.releasePower()
    expect(sim.physics.batteries[0]!.setpointW).toBeNull()
  })

  it('limits the inverter in percent, clamped to 0..100, and lifts the limit', async () => {
    const pv = await createSunSpecDriver({ name: 'pv1', client: tcp('pv1'), unitId: 1, log })
    const result = await pv.pv!.setPowerLimitPct(30)
    expect(result).toMatchObject({ point: '123.WMaxLimPct', written: 30, clamped: false, readBack: 30, verified: true })
    sim.advance(5000)
    expect(sim.physics.inverters[0]!.powerW).toBeLessThanOrEqual(2400)
    expect((await pv.pv!.readPv()).limitPct).toBe(30)
    expect((await pv.pv!.setPowerLimitPct(250)).written).toBe(100)
    await pv.pv!.clearPowerLimit()
    expect((await pv.pv!.readPv()).limitPct).toBeNull()
  })

  it('lists every decoded point with units for one-off reads', async () => {
    const meter = await createSunSpecDriver({ name: 'meter1', client: pool.get({ type: 'rtu', path: pty.b, baudRate: 38400 }), unitId: 7 })
    const points = await meter.readAll()
    expect(points.find((p) => p.name === '203.W')).toMatchObject({ units: 'W', value: expect.any(Number) })
    expect(points.find((p) => p.name === '1.Mn')).toMatchObject({ value: 'GridMesh' })
    expect(points.some((p) => p.name.endsWith('_SF'))).toBe(false)
  })
})
