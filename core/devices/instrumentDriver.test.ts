import { expect, it } from 'vitest'
import type { DeviceDriver } from './capabilities.ts'
import { instrumentDriver } from './instrumentDriver.ts'

function fakeDriver(fail: { read: boolean; write: boolean }): DeviceDriver {
  return Object.freeze({
    name: 'bat1',
    driver: 'sunspec',
    identity: { manufacturer: 'x', model: null, serialNumber: null, version: null },
    capabilities: ['battery'] as const,
    battery: Object.freeze({
      maxChargeW: 5000,
      maxDischargeW: 5000,
      capacityWh: 10_000,
      socMinPct: null,
      socMaxPct: null,
      async readBattery() {
        await new Promise((r) => setTimeout(r, 5))
        if (fail.read) throw new Error('timeout after 500 ms')
        return { powerW: 100, socPct: 50, fault: false }
      },
      async setPowerW(powerW: number) {
        if (fail.write) throw new Error('exception 2')
        return { point: 'W', requested: powerW, written: powerW, clamped: false, readBack: powerW, verified: true }
      },
      async releasePower() {
        return { point: 'W', requested: 0, written: 0, clamped: false, readBack: 0, verified: true }
      },
    }),
    async readAll() {
      return [{ name: '802.SoC', value: 50, units: '%' }]
    },
  })
}

it('counts and times reads and writes, keeps the last error, and passes results and errors through', async () => {
  const fail = { read: false, write: false }
  let wall = 1000
  const d = instrumentDriver(fakeDriver(fail), () => wall)
  expect(d.name).toBe('bat1')
  expect(d.battery!.maxChargeW).toBe(5000)
  expect(d.diagnostics()).toEqual({ reads: 0, readErrors: 0, writes: 0, writeErrors: 0, lastReadLatencyMs: null, lastReadAtMs: null, lastError: null })
  expect(await d.battery!.readBattery()).toEqual({ powerW: 100, socPct: 50, fault: false })
  expect(await d.readAll()).toHaveLength(1)
  const ok = d.diagnostics()
  expect(ok).toMatchObject({ reads: 2, readErrors: 0, lastReadAtMs: 1000, lastError: null })
  expect(ok.lastReadLatencyMs).toBeGreaterThanOrEqual(0)
  fail.read = true
  fail.write = true
  wall = 2000
  await expect(d.battery!.readBattery()).rejects.toThrow('timeout after 500 ms')
  await expect(d.battery!.setPowerW(10)).rejects.toThrow('exception 2')
  expect((await d.battery!.releasePower()).verified).toBe(true)
  const bad = d.diagnostics()
  expect(bad).toMatchObject({ reads: 3, readErrors: 1, writes: 2, writeErrors: 1, lastReadAtMs: 1000, lastError: { message: 'exception 2', atMs: 2000, operation: 'setPowerW' } })
  expect(bad.lastError!.latencyMs).toBeGreaterThanOrEqual(0)
  // a copy: the caller cannot change the counters
  bad.lastError!.message = 'x'
  expect(d.diagnostics().lastError!.message).toBe('exception 2')
})
