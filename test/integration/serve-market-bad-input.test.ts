// A trading serve whose market cannot be reached or is misconfigured still runs its site:
// startSite resolves, the control loop cycles on its hardware with its local plan, the
// market alarm names what is wrong, and GET /api/market shows the live node's last error.
import { mkdtempSync, rmSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

const work = mkdtempSync(join(tmpdir(), 'gridmesh-serve-market-'))
const startMs = Date.parse('2013-01-14T13:00:00Z')
const cycleMs = 60_000
let sim: Simulator
let site: RunningSite
let simTimeMs = startMs

beforeAll(async () => {
  sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
  const file = siteFileSchema.parse({
    name: 'trader',
    timezone: 'Australia/Melbourne',
    devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase, timeoutMs: 500 })),
    // no market address, and a chain endpoint nothing listens on
    market: { chain: { rpcUrl: 'http://127.0.0.1:9/' }, site: { id: 4 }, broker: { url: 'mqtt://127.0.0.1:9' } },
  })
  site = await startSite({ site: file, dataDir: join(work, 'data'), now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, refreshMs: 30_000 })
}, 120_000)

afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

describe('serve with a market it cannot join', () => {
  it('controls its hardware on its local plan, alarms the market and serves its error on /api/market', async () => {
    for (let i = 0; i < 5; i++) {
      await site.controller.tick()
      await site.controller.planning()
      sim.advance(cycleMs)
      sim.tick()
      simTimeMs += cycleMs
    }
    const latest = site.controller.latest()
    expect(latest?.devices.every((d) => !d.stale)).toBe(true)
    const alarm = site.store.listAlarms({ state: 'active' }).find((a) => a.key === 'market:live')
    expect(alarm?.message).toMatch(/^cannot trade: http:\/\/127\.0\.0\.1:9\/?: cannot connect; expected an EVM JSON-RPC endpoint \(market\.chain\.rpcUrl in the site file\)/)
    const body = await new Promise<{ live?: { role: string; broker: { connected: boolean; lastError: string | null } } }>((resolve, reject) => {
      request(`${site.api.url}/api/market`, { headers: { authorization: `Bearer ${site.api.token}` } }, (res) => {
        let text = ''
        res.on('data', (c) => (text += c))
        res.on('end', () => resolve(JSON.parse(text)))
      })
        .on('error', reject)
        .end()
    })
    expect(body.live).toMatchObject({ role: 'site', broker: { connected: false, lastError: expect.stringContaining('market.chain.rpcUrl') } })
  }, 60_000)
})
