import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ModbusClient } from '../modbus/createModbusClient.ts'
import { ModbusExceptionError } from '../modbus/errors.ts'
import { createProfileDriver } from './createProfileDriver.ts'
import { ProfileReadError, ProfileWriteError } from './errors.ts'
import { loadProfile } from './loadProfile.ts'
import { profileFilesIn } from './registerProfiles.ts'

const acme = loadProfile(fileURLToPath(new URL('../../../test/fixtures/profiles/good/acme-meter.json', import.meta.url)))

/** An in-memory Modbus device that records requests; `sticky` registers ignore writes (a device that does not take a value). */
function fakeClient(registers: Record<string, number>, options: { sticky?: string[]; failWrites?: boolean } = {}) {
  const requests: string[] = []
  const get = (unitId: number, fn: string, address: number, count: number) => {
    requests.push(`${fn} ${unitId}:${address}+${count}`)
    return Uint16Array.from({ length: count }, (_, i) => registers[`${unitId}/${fn}/${address + i}`] ?? 0)
  }
  const client = {
    readHoldingRegisters: async (unitId: number, address: number, count: number) => get(unitId, 'holding', address, count),
    readInputRegisters: async (unitId: number, address: number, count: number) => get(unitId, 'input', address, count),
    async writeRegisters(unitId: number, address: number, values: readonly number[]) {
      requests.push(`write ${unitId}:${address}=${values.join(',')}`)
      if (options.failWrites) throw new ModbusExceptionError({ endpoint: 'fake', unitId, functionCode: 0x10, code: 2, address })
      values.forEach((v, i) => {
        const key = `${unitId}/holding/${address + i}`
        if (!options.sticky?.includes(key)) registers[key] = v
      })
    },
  } as unknown as ModbusClient
  return { client, requests, registers }
}

describe('createProfileDriver', () => {
  it('decodes little word order, a scale register, inversion and "not available", in as few reads as the device allows', async () => {
    // power: int32 low word first ([0x0000, 0x0001] = 65536) at 10..11, W_SF = -1 at 9, inverted.
    const { client, requests } = fakeClient({ '7/holding/9': 0xffff, '7/holding/10': 0x0000, '7/holding/11': 0x0001, '7/holding/15': 42, '7/input/0': 0xffff })
    const driver = createProfileDriver(acme, { name: 'm1', client })
    const m = await driver.meter!.readMeter()
    expect(m.powerW).toBe(-6553.6) // 0x00010000 = 65536, times 10^-1, inverted
    expect(m.importWh).toBe(21) // uint64 big-endian 42 * 0.5
    expect(m.frequencyHz).toBeNull() // 0xFFFF is the profile's "not available"
    expect(m.exportWh).toBeNull() // not in the profile
    // maxRegistersPerRead 4, maxReadGap 0: holding 9..11 and 12..15 (9..15 would be 7), input 0 alone.
    expect(requests).toEqual(['holding 7:9+3', 'holding 7:12+4', 'input 7:0+1'])
  })

  it('honours the unit ID and a variant', async () => {
    const { client, requests } = fakeClient({ '3/holding/30': 5000 })
    const driver = createProfileDriver(acme, { name: 'm1', client, unitId: 3, variant: 'fw2' })
    expect((await driver.meter!.readMeter()).frequencyHz).toBe(50)
    expect(requests).toContain('holding 3:30+1')
    expect(() => createProfileDriver(acme, { name: 'm1', client, variant: 'fw9' })).toThrow("profile 'acme-meter' has no variant 'fw9'; known: fw2")
  })

  it('clamps, enables, writes, reads back, verifies and logs a write; release writes the release point', async () => {
    const { client, requests } = fakeClient({})
    const logs: string[] = []
    const driver = createProfileDriver(acme, { name: 'pv9', client, log: (m) => logs.push(m) })
    const r = await driver.pv!.setPowerLimitPct(123.45)
    expect(r).toEqual({ point: 'limit', requested: 123.45, written: 100, clamped: true, readBack: 100, verified: true })
    expect(requests.filter((q) => q.startsWith('write'))).toEqual(['write 7:21=1', 'write 7:20=1000'])
    expect(logs.at(-1)).toBe('pv9: limit <- 100 (requested 123.45, clamped to 0..100); read back 100: verified')
    const rounded = await driver.pv!.setPowerLimitPct(33.33)
    expect(rounded).toMatchObject({ written: 33.3, clamped: false, verified: true })
    expect((await driver.pv!.readPv()).limitPct).toBe(33.3)
    const released = await driver.pv!.clearPowerLimit()
    expect(released).toEqual({ point: 'limitEnable', requested: 0, written: 0, clamped: false, readBack: 0, verified: true })
    expect((await driver.pv!.readPv()).limitPct).toBeNull()
    await expect(driver.pv!.setPowerLimitPct(Number.NaN)).rejects.toThrow(RangeError)
  })

  it('reports a value the device did not take as not verified, and a refused write as an error naming the point', async () => {
    const sticky = fakeClient({ '7/holding/20': 500 }, { sticky: ['7/holding/20'] })
    const logs: string[] = []
    const r = await createProfileDriver(acme, { name: 'pv9', client: sticky.client, log: (m) => logs.push(m) }).pv!.setPowerLimitPct(20)
    expect(r).toMatchObject({ written: 20, readBack: 50, verified: false })
    expect(logs.at(-1)).toContain('NOT VERIFIED')

    const refused = fakeClient({}, { failWrites: true })
    const failing = createProfileDriver(acme, { name: 'pv9', client: refused.client, log: (m) => logs.push(m) })
    const error = await failing.pv!.setPowerLimitPct(20).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProfileWriteError)
    expect((error as ProfileWriteError).shortMessage).toBe('pv9: write of limitEnable=1 at 21 (unit 7) failed')
    expect((error as ProfileWriteError).cause).toBeInstanceOf(ModbusExceptionError)
    expect(logs.at(-1)).toContain('pv9: write of limitEnable=1 at 21 (unit 7) failed: fake unit 7: exception 2')
  })

  it('wraps a failed read with the device, unit and address', async () => {
    const client = { readHoldingRegisters: async () => { throw new Error('socket closed') }, readInputRegisters: async () => new Uint16Array(1) } as unknown as ModbusClient
    const error = await createProfileDriver(acme, { name: 'm1', client }).meter!.readMeter().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProfileReadError)
    expect((error as Error).message).toContain('m1: read of 3 holding register(s) at 9 (unit 7) failed')
  })

  it('gives each bundled profile exactly its declared capabilities and clamps batteries to the installation', async () => {
    for (const file of profileFilesIn()) {
      const profile = loadProfile(file)
      const driver = createProfileDriver(profile, { name: 'd', client: fakeClient({}).client, limits: { maxChargeW: 3000, maxDischargeW: 2000 } })
      expect(Object.keys(driver).filter((k) => ['meter', 'pv', 'battery'].includes(k)).sort()).toEqual([...profile.capabilities].sort())
      if (driver.battery) {
        const r = await driver.battery.setPowerW(-5000)
        expect(r).toMatchObject({ written: -3000, clamped: true, verified: true })
      }
    }
  })
})
