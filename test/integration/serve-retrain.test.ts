import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { SiteEvent } from '../../core/control/createSiteController.ts'
import { startSite, type RunningSite } from '../../core/api/startSite.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { createStore } from '../../core/store/createStore.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// A site with five weeks of its own history in the store: on its first cycle the service
// retrains the load model on that history in a worker, switches to it, plans with the
// model's forecast, and a restart starts from the site's model.
const work = mkdtempSync(join(tmpdir(), 'gridmesh-retrain-'))
const dataDir = join(work, 'data')
const startMs = Date.parse('2013-01-14T13:00:00Z')
const slotMs = 900_000
const cycleMs = 60_000
let sim: Simulator | undefined
let site: RunningSite | undefined
let simTimeMs = startMs

afterAll(async () => {
  await site?.stop()
  await sim?.close()
  rmSync(work, { recursive: true, force: true })
})

function seedHistory(days: number) {
  const rows = readFileSync(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url), 'utf8').trim().split('\n').slice(1).map((l) => l.split(','))
  const peakMw = Math.max(...rows.map((r) => Number(r[1])))
  mkdirSync(dataDir, { recursive: true })
  const store = createStore({ path: join(dataDir, 'gridmesh.db') })
  try {
    const samples = rows
      .filter((r) => Date.parse(r[0]!) >= startMs - days * 86_400_000 && Date.parse(r[0]!) < startMs)
      .flatMap((r) => [0, slotMs].map((offset) => ({ timeMs: Date.parse(r[0]!) + offset, device: 'site', point: 'loadW', value: (Number(r[1]) / peakMw) * 7000 })))
    store.appendTelemetry(samples)
    store.downsample(startMs)
    return store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: 0, toMs: startMs, tier: '15m' }).length
  } finally {
    store.close()
  }
}

describe('gridmesh serve: retraining on the site history', () => {
  it('retrains in a worker once four weeks exist, plans with the new model, and restarts with it', { timeout: 180_000 }, async () => {
    expect(seedHistory(35)).toBe(35 * 96)
    sim = await startSimulator(testSite({ start: new Date(startMs).toISOString() }), { log: () => {} })
    const file = siteFileSchema.parse({
      name: 'retrain-test',
      timezone: 'Australia/Melbourne',
      devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId, sunspecBase: r.sunspecBase })),
      control: { location: { latitudeDeg: -37.81, longitudeDeg: 144.96 }, pv: { tiltDeg: 25, azimuthDeg: 0, peakPowerKw: 8.8 }, holidays: ['2013-01-28'] },
    })
    const logs: string[] = []
    site = await startSite({ site: file, dataDir, now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, log: (m) => logs.push(m) })
    const events: SiteEvent[] = []
    site.controller.subscribe((e) => events.push(e))
    expect(site.controller.forecast().model?.source).toBe('models/data/vic-elec-2012-2014.csv')
    await site.controller.tick()
    // The first plan did not wait for the training: it used the shipped model on the site's history.
    expect(site.controller.forecast().loadMethod).toBe('model')
    await site.controller.training()
    const outcome = events.find((e) => e.type === 'model')
    expect(outcome).toMatchObject({ type: 'model', outcome: { accepted: true } })
    expect(site.controller.forecast().model?.source).toBe('site:retrain-test')
    expect(existsSync(join(dataDir, 'models', 'site-model', 'model.json'))).toBe(true)
    for (let i = 0; i < 16; i++) {
      sim.advance(cycleMs)
      sim.tick()
      simTimeMs += cycleMs
      await site.controller.tick()
      // A stepped clock waits for a plan the cycle started (it is made beside the cycle).
      await site.controller.planning()
    }
    const f = site.controller.forecast()
    expect(f.loadMethod).toBe('model')
    expect(f.load?.model).toBe('model:site:retrain-test')
    expect(f.load?.startMs).toBe(startMs + slotMs)
    expect(site.controller.plan()?.startMs).toBe(startMs + slotMs)
    // The forecast follows the site's scale (a 7 kW peak house), not the state's megawatts.
    const values = f.load!.valuesW
    expect(Math.max(...values)).toBeLessThan(9000)
    expect(Math.min(...values)).toBeGreaterThan(1000)
    await site.stop()
    site = await startSite({ site: file, dataDir, now: () => simTimeMs, port: 0, staleAfterMs: 3 * cycleMs, log: (m) => logs.push(m) })
    expect(site.controller.forecast().model?.source).toBe('site:retrain-test')
    expect(logs.some((l) => l.includes(join(dataDir, 'models', 'site-model')))).toBe(true)
  })
})
