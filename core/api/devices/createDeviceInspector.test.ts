import { expect, it } from 'vitest'
import type { CycleReport } from '../../control/createControlLoop.ts'
import type { DeviceDriver, PointReading } from '../../devices/capabilities.ts'
import { instrumentDriver } from '../../devices/instrumentDriver.ts'
import { createDeviceInspector } from './createDeviceInspector.ts'

const identity = { manufacturer: null, model: null, serialNumber: null, version: null }
const driver = (name: string, kind: string, readAll: () => Promise<PointReading[]>): DeviceDriver => ({ name, driver: kind, identity, capabilities: [], readAll })

it('lists every decoded point with its SunSpec model/point or profile label, health from the loop and the driver counters', async () => {
  let reads = 0
  let wall = 10_000
  const pv = instrumentDriver(
    driver('pv1', 'sunspec', async () => {
      reads++
      return [
        { name: '103.W', value: 4200, units: 'W', label: 'Watts' },
        { name: '1.Mn', value: 'GridMesh', units: null },
      ]
    }),
  )
  const meter = driver('meter1', 'profile:eastron-sdm630', async () => [{ name: 'gridPowerW', value: -300, units: 'W', label: 'Total system power' }])
  const cycle = { devices: [{ name: 'pv1', stale: false, lastOkMs: 5, error: null }, { name: 'meter1', stale: true, lastOkMs: null, error: 'timeout' }] } as unknown as CycleReport
  const inspector = createDeviceInspector({ drivers: [pv, meter], latest: () => cycle, addresses: new Map([['pv1', { address: '127.0.0.1:5020', unitId: 1 }]]), wallNow: () => wall })
  const { devices } = await inspector.inspect()
  expect(devices[0]).toMatchObject({
    name: 'pv1',
    driver: 'sunspec',
    address: '127.0.0.1:5020',
    unitId: 1,
    stale: false,
    lastOkMs: 5,
    controlError: null,
    points: [
      { name: '103.W', value: 4200, units: 'W', label: 'Watts', model: 103, point: 'W' },
      { name: '1.Mn', value: 'GridMesh', units: null, label: null, model: 1, point: 'Mn' },
    ],
    pointsReadAtMs: 10_000,
    pointsError: null,
    diagnostics: { reads: 1, readErrors: 0 },
  })
  expect(devices[1]).toMatchObject({ name: 'meter1', address: null, stale: true, controlError: 'timeout', points: [{ name: 'gridPowerW', label: 'Total system power', model: null, point: null }], diagnostics: null })
  // within maxAgeMs the full read is reused
  wall += 4_000
  await inspector.inspect()
  expect(reads).toBe(1)
  wall += 2_000
  await inspector.inspect()
  expect(reads).toBe(2)
})

it('answers for a device that does not answer within the timeout, keeps its last points, and reuses the pending read', async () => {
  let wall = 1
  let release: (() => void) | null = null
  let fail = false
  let calls = 0
  const bat = driver('bat1', 'sunspec', () => {
    calls++
    if (fail) return Promise.reject(new Error('connection refused'))
    if (calls === 1) return Promise.resolve([{ name: '802.SoC', value: 50, units: '%' }])
    return new Promise((resolve) => (release = () => resolve([{ name: '802.SoC', value: 60, units: '%' }])))
  })
  const inspector = createDeviceInspector({ drivers: [bat], latest: () => null, maxAgeMs: 0, timeoutMs: 50, wallNow: () => wall })
  expect((await inspector.inspect()).devices[0]).toMatchObject({ stale: null, points: [{ value: 50 }], pointsError: null })
  wall = 100
  const late = (await inspector.inspect()).devices[0]!
  expect(late).toMatchObject({ points: [{ value: 50 }], pointsReadAtMs: 1, pointsError: 'no answer to a full read within 50 ms' })
  wall = 200
  await inspector.inspect()
  expect(calls).toBe(2) // the hanging read is reused, not repeated
  release!()
  await new Promise((r) => setTimeout(r, 10))
  fail = true
  wall = 300
  const failed = (await inspector.inspect()).devices[0]!
  expect(failed).toMatchObject({ points: [{ value: 60 }], pointsError: 'connection refused', pointsReadAtMs: 200 })
})
