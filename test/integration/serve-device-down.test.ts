import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSite, StartSiteError, type RunningSite } from '../../core/api/startSite.ts'
import { createConnectionPool } from '../../core/devices/modbus/createConnectionPool.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startDeviceDriver } from '../../core/devices/startDeviceDriver.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// Issue 11: `serve` refused to start when one device was down. Now it starts degraded: the
// device is stale and alarmed with the reason, discovery is retried in the background, and
// once the device answers it joins the loop and is commanded. The simulator's own state is
// the truth for "commanded". Simulated time is stepped; the retries run on the real clock.
const work = mkdtempSync(join(tmpdir(), 'gridmesh-device-down-'))
const startMs = Date.parse('2013-01-15T02:00:00Z')
const cycleMs = 5000
let sim: Simulator
let site: RunningSite | null = null
let simTimeMs = startMs

const faults = (device: string, body: unknown) =>
  fetch(`${sim.apiUrl}/api/devices/${device}/faults`, { method: body === null ? 'DELETE' : 'PUT', body: body === null ? undefined : JSON.stringify(body) })
const simBattery = async () => ((await (await fetch(`${sim.apiUrl}/api/state`)).json()) as { devices: { name: string; setpointW: number | null }[] }).devices.find((d) => d.name === 'bat1')!
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function siteFile(devices: { name: string; port: number; unitId: number; sunspecBase: number; driver?: string }[]) {
  return siteFileSchema.parse({
    name: 'device-down',
    timezone: 'Australia/Melbourne',
    devices: devices.map((r) => ({ name: r.name, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 300, ...(r.driver && { driver: r.driver }) })),
  })
}
const ready = () => sim.ready.map((r) => ({ name: r.device, port: r.port!, unitId: r.unitId, sunspecBase: r.sunspecBase }))

async function cycle() {
  const report = await site!.controller.tick()
  sim.advance(cycleMs)
  simTimeMs += cycleMs
  return report
}

beforeAll(async () => {
  sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
})
afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('a device down when the site starts (issue 11)', () => {
  it('starts without it, alarms it by name with the reason, and commands it once it answers', { timeout: 120_000 }, async () => {
    await faults('bat1', { refuseConnections: true })
    const logs: string[] = []
    site = await startSite({ site: siteFile(ready()), dataDir: join(work, 'data'), now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, refreshMs: 20_000, log: (m) => logs.push(m) })
    expect(logs.some((m) => /bat1: cannot start \(.*\); running without it/.test(m))).toBe(true)

    for (let i = 0; i < 3; i++) await cycle()
    const down = site.controller.latest()!
    expect(down.devices.find((d) => d.name === 'bat1')).toMatchObject({ stale: true, lastOkMs: null })
    expect(down.devices.find((d) => d.name === 'bat1')!.error).toMatch(/not started: .*(connection|connect)/)
    // The others run: PV and meter are read.
    expect(down.devices.filter((d) => d.name !== 'bat1').every((d) => !d.stale)).toBe(true)
    const alarm = site.store.listAlarms({ state: 'active' }).find((a) => a.key === 'stale:bat1')
    expect(alarm?.message).toMatch(/bat1: no valid reading for ever \(not started: .*\); not commanded/)
    expect((await simBattery()).setpointW).toBeNull()

    // The device answers again: it is discovered in the background and joins the loop.
    await faults('bat1', null)
    const waitStarted = performance.now()
    let joined = false
    while (!joined && performance.now() - waitStarted < 30_000) {
      await sleep(250)
      const report = await cycle()
      joined = report.devices.find((d) => d.name === 'bat1')!.stale === false
    }
    expect(joined).toBe(true)
    expect(logs.some((m) => /bat1: answered; discovered battery, it joins the control loop/.test(m))).toBe(true)
    for (let i = 0; i < 2; i++) await cycle()
    const up = site.controller.latest()!
    expect(up.decisions.find((d) => d.name === 'bat1')?.setpointW).not.toBeNull()
    expect(up.snapshot.batteries.map((b) => b.name)).toEqual(['bat1'])
    // Commanded, in the simulator's own state and in the store's write log.
    expect((await simBattery()).setpointW).not.toBeNull()
    expect(site.store.listWrites({ fromMs: startMs, toMs: simTimeMs, device: 'bat1' }).length).toBeGreaterThan(0)
    expect(site.store.listAlarms({ state: 'active' }).map((a) => a.key)).not.toContain('stale:bat1')
  })

  it('still refuses a site file mistake by name: an unknown driver is not a device that is down', { timeout: 60_000 }, async () => {
    const devices = ready().map((d) => (d.name === 'meter1' ? { ...d, driver: 'profile:no-such-profile' } : d))
    const error = await startSite({ site: siteFile(devices), dataDir: join(work, 'data2'), now: () => simTimeMs, port: 0 }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StartSiteError)
    expect((error as Error).message).toMatch(/devices\[2\] 'meter1': cannot start: .*no-such-profile/)
  })

  it('the stand-in reads through to the driver once the device answers, and stops retrying when told', { timeout: 60_000 }, async () => {
    const pool = createConnectionPool({ timeoutMs: 300 })
    try {
      const [device] = siteFile(ready().filter((d) => d.name === 'bat1')).devices
      await faults('bat1', { refuseConnections: true })
      const joined: string[] = []
      const started = await startDeviceDriver(device!, pool, { retryMs: 200, onReady: (d) => joined.push(d.name) })
      const stopped = await startDeviceDriver(device!, pool, { retryMs: 200 })
      stopped.stop()
      expect(started.ready()).toBe(false)
      expect(started.driver).toMatchObject({ name: 'bat1', driver: 'sunspec', capabilities: [] })
      expect(started.driver.pending).toMatch(/^not started: .*; discovery is retried every 0.2 s$/)
      expect('battery' in started.driver).toBe(false)
      await expect(started.driver.readAll()).rejects.toThrow(/bat1: not started/)
      await faults('bat1', null)
      for (let i = 0; i < 100 && !started.ready(); i++) await sleep(100)
      expect(started.ready()).toBe(true)
      expect(joined).toEqual(['bat1'])
      expect(started.driver.pending).toBeUndefined()
      expect(started.driver.capabilities).toEqual(['battery'])
      expect('battery' in started.driver).toBe(true)
      expect({ ...started.driver }.battery).toBe(started.driver.battery)
      expect((await started.driver.battery!.readBattery()).socPct).toBeGreaterThan(0)
      // The one told to stop never joined, though the device answers now.
      expect(stopped.ready()).toBe(false)
      started.stop()
    } finally {
      await pool.close()
    }
  })
})
