import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { rawGet, statusOf, upgradeHeaders } from '../../test/support/rawHttp.ts'
import { testSite } from '../../test/support/simSites.ts'
import { startSimulator, type Simulator } from '../startSimulator.ts'

// The simulator's control API probed as a hostile local process would: raw bytes, so the
// paths and headers reach the server exactly as sent.
let sim: Simulator
let port: number
const logged: string[] = []
beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: (m) => logged.push(m) })
  port = Number(new URL(sim.apiUrl).port)
})
afterAll(() => sim?.close())

describe('simulator control API: every request path is inside one error boundary', () => {
  it.each([
    ['GET //:99999/ (an unparseable URL)', 'GET', '//:99999/', {}],
    ['the same as a WebSocket upgrade', 'GET', '//:99999/', upgradeHeaders],
    ['a device name that is not percent-encoding', 'GET', '/api/devices/%E0%A4%A', {}],
    ['the same on a fault write', 'PUT', '/api/devices/%zz/faults', {}],
  ])('%s answers 400 and the simulator keeps serving', async (_name, method, path, headers) => {
    const answer = await rawGet(port, path, headers, method)
    expect(statusOf(answer), answer).toBe(400)
    const next = await rawGet(port, '/api/health')
    expect(statusOf(next), next).toBe(200)
    expect(logged.filter((m) => m.includes('control API'))).toEqual([])
  })
})

describe('simulator control API: Host', () => {
  it('refuses a Host that is not its own (DNS rebinding) with 421, and injects no fault', async () => {
    for (const host of [`evil.example:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port + 1}`, '']) {
      const answer = await rawGet(port, '/api/devices/bat1/faults', { host, 'content-type': 'application/json' }, 'PUT', '{"tripped":true}')
      expect({ host, status: statusOf(answer) }).toEqual({ host, status: 421 })
      expect(answer).toContain(`Host '${host}' is not this simulator (127.0.0.1:${port})`)
    }
    expect(sim.devices.get('bat1')!.faults.tripped).toBe(false)
  })

  it('serves its own names: 127.0.0.1:port and localhost:port', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) expect(statusOf(await rawGet(port, '/api/health', { host }))).toBe(200)
  })
})

describe('simulator control API: deeply nested JSON', () => {
  it('a 60 KB nested body is a 400 naming the field, not a 500', async () => {
    for (const body of [`${'['.repeat(30_000)}${']'.repeat(30_000)}`, `{"delayMs":${'['.repeat(30_000)}${']'.repeat(30_000)}}`]) {
      const answer = await rawGet(port, '/api/devices/pv1/faults', { 'content-type': 'application/json' }, 'PUT', body)
      expect(statusOf(answer), answer.slice(0, 300)).toBe(400)
      expect(answer.length).toBeLessThan(2000)
    }
    expect(logged.filter((m) => m.includes('control API'))).toEqual([])
  })
})
