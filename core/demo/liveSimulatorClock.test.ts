import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { liveSimulatorClock, SimulatorClockError } from './liveSimulatorClock.ts'

let server: Server | null = null
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())))

/** A simulator's control API answering GET /api/state with what `state()` says at each request. */
async function fakeSimulator(state: () => unknown): Promise<string> {
  server = createServer((req, res) => {
    if (req.url !== '/api/state') return void res.writeHead(404).end()
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state()))
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()))
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`
}

describe('liveSimulatorClock', () => {
  it('waits while the simulator is paused, then runs on from its time at its speed', async () => {
    const startMs = Date.UTC(2026, 0, 1, 11)
    let asked = 0
    const url = await fakeSimulator(() => (++asked < 3 ? { timeMs: startMs, speed: 0 } : { timeMs: startMs, speed: 60 }))
    const clock = await liveSimulatorClock({ apiUrl: url, pollMs: 20 })
    expect(asked).toBe(3)
    const t0 = clock.now()
    const real0 = performance.now()
    await new Promise((r) => setTimeout(r, 200))
    const elapsedSimMs = clock.now() - t0
    expect(t0 - startMs).toBeGreaterThanOrEqual(0)
    expect(t0 - startMs).toBeLessThan(60 * 100)
    // 60 simulated ms per real ms, within the timer's slack
    expect(elapsedSimMs / (performance.now() - real0)).toBeGreaterThan(55)
    expect(elapsedSimMs / (performance.now() - real0)).toBeLessThanOrEqual(61)
    expect(clock).toMatchObject({ speed: 60, periodMs: 250, staleAfterMs: 45_000, refreshMs: 30_000 })
  })

  it('names the flag and the simulator when it cannot read a clock', async () => {
    await expect(liveSimulatorClock({ apiUrl: 'http://127.0.0.1:1' })).rejects.toThrow(/^--sim-api http:\/\/127\.0\.0\.1:1: cannot read the simulator's clock/)
    const url = await fakeSimulator(() => ({ speed: 60 }))
    await expect(liveSimulatorClock({ apiUrl: url })).rejects.toThrow(`--sim-api ${url}: GET /api/state has no timeMs and speed`)
  })

  it('gives up on a simulator that stays paused', async () => {
    const url = await fakeSimulator(() => ({ timeMs: 0, speed: 0 }))
    await expect(liveSimulatorClock({ apiUrl: url, pollMs: 10, timeoutMs: 100 })).rejects.toBeInstanceOf(SimulatorClockError)
  })
})
