import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { PlanResult, StateResult } from '../../core/api/contract.ts'
import { createStore } from '../../core/store/createStore.ts'
import { testSite } from '../support/simSites.ts'
import { spawnSim, writeSiteFile, type SpawnedSim } from '../support/spawnSim.ts'

// `gridmesh serve` as an operator starts it: a site file, a data folder, a real 1 s
// loop against the simulator process, the API answering, and Ctrl-C stopping it cleanly.
const cli = new URL('../../bin/gridmesh.js', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'gridmesh-serve-cli-'))
let sim: SpawnedSim | undefined

afterAll(async () => {
  await sim?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('gridmesh serve (process)', () => {
  it('serves a site from its site file and stops cleanly on SIGINT', { timeout: 90_000 }, async () => {
    sim = await spawnSim(['--site', writeSiteFile(testSite())])
    const siteFile = join(work, 'site.yaml')
    writeFileSync(siteFile, stringify({
      name: 'cli-site',
      timezone: 'Australia/Melbourne',
      devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId })),
      control: { location: { latitudeDeg: -37.81, longitudeDeg: 144.96 }, pv: { peakPowerKw: 8.8, tiltDeg: 25, azimuthDeg: 0 } },
    }))
    const dataDir = join(work, 'data')
    const child = spawn(process.execPath, [cli, 'serve', '--site', siteFile, '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve)
      void exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)))
    })
    const [, url, tokenFile] = /^api (http:\/\/127\.0\.0\.1:\d+) token-file (.+)$/.exec(line) ?? []
    expect(tokenFile).toBe(join(dataDir, 'api-token'))
    const token = readFileSync(tokenFile!, 'utf8').trim()
    const get = async <T>(path: string) => (await (await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T
    let state: StateResult | null = null
    for (let i = 0; i < 100; i++) {
      state = await get<StateResult>('/api/state')
      if (state.cycle && state.cycle.devices.every((d) => !d.stale)) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(state?.site.devices).toEqual(['pv1', 'bat1', 'meter1'])
    expect(state?.cycle?.devices.every((d) => !d.stale)).toBe(true)
    // The first plan is made right after the first cycle's writes.
    let plan: PlanResult = { plan: null }
    for (let i = 0; i < 100 && !plan.plan; i++) {
      plan = await get<PlanResult>('/api/plan')
      if (!plan.plan) await new Promise((r) => setTimeout(r, 100))
    }
    expect(plan.plan?.slots, stderr).toHaveLength(96)
    child.kill('SIGINT')
    expect(await exited).toBe(0)
    expect(stderr).toMatch(/serve: stopping/)
    const store = createStore({ path: join(dataDir, 'gridmesh.db') })
    try {
      expect(store.latestPlan()?.createdAtMs).toBe(plan.plan?.createdAtMs)
      expect(store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: 0, toMs: Date.now() + 1000 }).length).toBeGreaterThan(0)
    } finally {
      store.close()
    }
  })
})
