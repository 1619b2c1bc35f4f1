import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSimProxy } from '../../core/api/sim/createSimProxy.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The HMI's simulator proxy against the real simulator's control API.
let sim: Simulator
beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: () => {} })
}, 60_000)
afterAll(async () => {
  await sim?.close()
})

const status = async (p: Promise<unknown>) => p.then(() => 200, (e: { status?: number; shortMessage?: string }) => `${e.status} ${e.shortMessage}`)

describe('createSimProxy', () => {
  it('reads the devices, clock and weather, sets and clears faults, and sets the clock speed', async () => {
    const proxy = createSimProxy({ apiUrl: sim.apiUrl })
    const state = await proxy.state()
    expect(state.site).toBe('test')
    expect(state.devices.map((d) => d.name)).toEqual(['pv1', 'bat1', 'meter1'])
    expect(state.clearness).toBeGreaterThanOrEqual(0)
    expect(state.paused).toBe(true)
    await proxy.setFaults('bat1', { delayMs: 250, tripped: true })
    expect((await proxy.state()).devices.find((d) => d.name === 'bat1')!.faults).toMatchObject({ delayMs: 250, tripped: true, frozen: false })
    await proxy.clearFaults('bat1')
    expect((await proxy.state()).devices.find((d) => d.name === 'bat1')!.faults).toMatchObject({ delayMs: 0, tripped: false })
    await proxy.setClock(5)
    expect((await proxy.state()).speed).toBe(5)
    await proxy.setClock(0)
  })

  it("passes the simulator's refusal on with its words, and names a simulator that does not answer", async () => {
    const proxy = createSimProxy({ apiUrl: sim.apiUrl })
    expect(await status(proxy.setFaults('nope', { frozen: true }))).toBe("404 simulator: no device 'nope'; devices: pv1, bat1, meter1")
    expect(await status(proxy.setFaults('meter1', { tripped: true }))).toBe('400 simulator: request body: tripped: a meter cannot trip (use noResponse to make it silent)')
    expect(await status(proxy.setFaults('pv1', { sentinelPoints: ['999.X'] }))).toBe("400 simulator: request body: sentinelPoints: device 'pv1' has no point 999.X")
    const dead = createServer()
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r))
    const port = (dead.address() as AddressInfo).port
    await new Promise((r) => dead.close(r))
    expect(await status(createSimProxy({ apiUrl: `http://user:secret@127.0.0.1:${port}` }).state())).toBe(`502 simulator at http://127.0.0.1:${port}: GET /api/state: ECONNREFUSED`)
    // something that is not the simulator
    const other = createServer((_req, res) => res.end(JSON.stringify({ hello: 'world' })))
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`
      expect(await status(createSimProxy({ apiUrl: url }).state())).toMatch(/^502 simulator at http:\/\/127\.0\.0\.1:\d+: \/api\/state is not the simulator's state: site: expected string/)
    } finally {
      await new Promise((r) => other.close(r))
    }
    expect(() => createSimProxy({ apiUrl: 'ftp://u:pw@x' })).toThrow("--sim-api: expected an http:// URL of the simulator's control API, got a ftp: URL")
    expect(() => createSimProxy({ apiUrl: '127.0.0.1:8600' })).toThrow("got '127.0.0.1:8600'")
  })
})
