// The simulator's control API under fuzz through the real simulator: fault patches,
// clock changes and paths, with hostile bodies. Every request gets an answer below 500
// and the simulator keeps serving its API and its Modbus devices.
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { rawGet, statusOf } from '../support/rawHttp.ts'
import { testSite } from '../support/simSites.ts'
import { pathAndQuery } from './apiFuzzInputs.ts'
import { fuzzSeed } from './fuzzSeed.ts'

let sim: Simulator
let port = 0
beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: () => {} })
  port = Number(new URL(sim.apiUrl).port)
})
afterAll(() => sim?.close())

const hostile = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom<unknown>(1e308, -1, 0, 0.5, 1, 60, 3600, 2 ** 53 + 1, '', '__proto__', null, [], {}, true, 'x'.repeat(5000), ['1.x'], ['103.W'], ['999.nope']),
)
const faultKeys = ['refuseConnections', 'delayMs', 'noResponse', 'exceptionCode', 'frozen', 'sentinelPoints', 'tripped', 'garbageFrames', 'speed', 'seconds', '__proto__', 'x']
const request = fc.oneof(
  fc.record({ method: fc.constant('PUT'), path: fc.constantFrom('/api/devices/bat1/faults', '/api/devices/meter1/faults', '/api/devices/pv1/faults', '/api/devices/nope/faults'), body: fc.dictionary(fc.constantFrom(...faultKeys), hostile, { maxKeys: 3 }).map((b) => JSON.stringify(b)) }),
  fc.record({ method: fc.constant('PUT'), path: fc.constant('/api/clock'), body: fc.oneof(hostile.map((speed) => JSON.stringify({ speed })), fc.string({ maxLength: 40 })) }),
  // Small advances only: a valid 31-day advance runs 2.7 million physics steps, by design.
  fc.record({ method: fc.constant('POST'), path: fc.constant('/api/clock/advance'), body: fc.oneof(fc.constantFrom(-1, 0, 1e308, '60', null, [], 1e9).map((seconds) => JSON.stringify({ seconds })), fc.string({ maxLength: 40 })) }),
  fc.record({ method: fc.constantFrom('GET', 'DELETE', 'POST', 'PUT'), path: pathAndQuery, body: fc.constant('') }),
)

describe("the simulator's control API under fuzz", { timeout: 120_000 }, () => {
  it('answers every request below 500 and keeps serving', async () => {
    process.stdout.write(`fuzz sim-control-api: seed ${fuzzSeed}\n`)
    const statuses = new Set<number>()
    await fc.assert(
      fc.asyncProperty(request, async ({ method, path, body }) => {
        const answer = await rawGet(port, path, { 'content-type': 'application/json' }, method, body)
        const status = statusOf(answer)
        statuses.add(status)
        expect(status, `${method} ${path} ${body.slice(0, 80)}: ${answer.slice(0, 300)}`).toBeGreaterThanOrEqual(200)
        expect(status, `${method} ${path} ${body.slice(0, 80)}: ${answer.slice(0, 300)}`).toBeLessThan(500)
      }),
      { seed: fuzzSeed, numRuns: 150, timeout: 15_000 },
    )
    expect(statusOf(await rawGet(port, '/api/health'))).toBe(200)
    // The inputs reached the handlers: some were applied, some refused by the schema, some had no route.
    expect([...statuses].sort()).toEqual(expect.arrayContaining([200, 400, 404]))
  })
})
