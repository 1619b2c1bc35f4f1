import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { scanCommandSchema } from '../../core/api/contract.ts'
import { createCommissionJobs } from '../../core/api/installer/createCommissionJobs.ts'
import { runScan } from '../../core/api/installer/runScan.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startSimulator, type Simulator } from '../../hardware-sims/startSimulator.ts'
import { testSite } from '../support/simSites.ts'

// The installer's scan -> site file -> commissioning flow of the HMI against the simulator.
let sim: Simulator
beforeAll(async () => {
  sim = await startSimulator(testSite(), { log: () => {} })
}, 60_000)
afterAll(async () => {
  await sim?.close()
})

const ports = () => sim.ready.map((r) => r.port!).sort((a, b) => a - b)

describe('installer flow', () => {
  it('scans a bounded range, finds the devices and writes a site file that commissions with verified, reverted test writes', async () => {
    // the simulator's free ports need not be adjacent: scan each
    const found = []
    for (const port of ports()) {
      const answer = await runScan(scanCommandSchema.parse({ type: 'scan', host: '127.0.0.1', ports: [port, port], units: [1, 2], timeoutMs: 200 }))
      found.push(...answer.result.devices)
      expect(siteFileSchema.parse(parse(answer.siteYaml))).toEqual(answer.site)
    }
    expect(found.map((d) => d.kind).sort()).toEqual(['battery', 'inverter', 'meter'])
    const jobs = createCommissionJobs()
    const siteYaml = `name: hmi-commission\ndevices:\n${found.map((d) => `  - name: ${d.kind}\n    connection: { type: tcp, host: 127.0.0.1, port: ${(d.connection as { port: number }).port} }\n    unitId: ${d.unitId}\n    driver: ${d.driver}\n`).join('')}`
    const job = jobs.start({ type: 'commission', siteYaml, observeMs: 1500 })
    expect(job).toMatchObject({ status: 'running', site: 'hmi-commission', readOnly: false, warnings: [], report: null })
    expect(() => jobs.start({ type: 'commission', siteYaml })).toThrow('commission: a commissioning run is in progress; wait for its report')
    expect(() => jobs.html(job.id)).toThrow(`commissioning run ${job.id} is running; the report exists once it is done`)
    await jobs.idle()
    const done = jobs.get(job.id)
    expect(done.status, done.error ?? '').toBe('done')
    const battery = done.report!.devices.find((d) => d.name === 'battery')!
    expect(battery.testWrites.length).toBeGreaterThan(0)
    expect(battery.testWrites.every((w) => w.write?.verified && w.revert !== null)).toBe(true)
    expect(jobs.html(job.id)).toMatch(/^<!doctype html>/i)
  }, 120_000)

  it('refuses an unbounded or malformed scan and a bad site file, naming the field', async () => {
    const bad = (body: unknown) => {
      const r = scanCommandSchema.safeParse(body)
      return r.success ? 'ok' : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')
    }
    expect(bad({ type: 'scan', host: '127.0.0.1', ports: [502, 600], units: [1, 1] })).toBe('ports: at most 16 ports per scan')
    expect(bad({ type: 'scan', host: '127.0.0.1', ports: [502, 517], units: [0, 255] })).toBe('units: ports x units: at most 2048 probes per scan')
    expect(bad({ type: 'scan', host: '127.0.0.1', ports: [600, 502], units: [1, 1] })).toBe('ports: [from, to]: from must not be after to')
    expect(bad({ type: 'scan', host: 'a b', ports: [502, 502], units: [1, 1] })).toBe('host: a host name or IP address')
    expect(bad({ type: 'scan', host: '127.0.0.1', ports: [502, 502], units: [1, 247], timeoutMs: 2000 })).toBe('timeoutMs: units x timeoutMs: a scan must end within 60 s (each silent unit costs its timeout); scan fewer units or a shorter timeoutMs')
    expect(bad({ type: 'scan', host: '127.0.0.1', ports: [502, 517], units: [1, 128] })).toBe('ok')
    const jobs = createCommissionJobs()
    expect(() => jobs.start({ type: 'commission', siteYaml: 'name: [' })).toThrow(/^request body: siteYaml: not YAML/)
    expect(() => jobs.start({ type: 'commission', siteYaml: 'name: x\ndevices:\n  - name: m\n    connection: { type: tcp, host: 127.0.0.1, port: 1 }\n    unitId: 300\n' })).toThrow(/request body: siteYaml: devices\[0\]\.unitId/)
    expect(() => jobs.start({ type: 'commission', siteYaml: 'a: &a [*a, *a]\n' })).toThrow(/request body: siteYaml/)
    expect(jobs.list()).toEqual([])
    expect(() => jobs.get('nope')).toThrow("no commissioning run 'nope'; runs kept: none")
  })

  it('warns when commissioning devices the running site controls with test writes', async () => {
    const d = sim.ready.find((r) => r.device === 'bat1')!
    const device = { name: 'bat1', connection: { type: 'tcp' as const, host: '127.0.0.1', port: d.port! }, unitId: d.unitId, driver: 'sunspec', timeoutMs: 1000, pollIntervalMs: 1000 }
    const jobs = createCommissionJobs({ controlled: [siteFileSchema.parse({ name: 's', devices: [device] }).devices[0]!] })
    const yaml = `name: again\ndevices:\n  - name: b\n    connection: { type: tcp, host: 127.0.0.1, port: ${d.port} }\n    unitId: ${d.unitId}\n`
    const job = jobs.start({ type: 'commission', siteYaml: yaml, readOnly: true })
    expect(job.warnings).toEqual([])
    await jobs.idle()
    const writing = jobs.start({ type: 'commission', siteYaml: yaml, observeMs: 200 })
    expect(writing.warnings[0]).toMatch(/^the running site also commands b: its control loop may overwrite a test write/)
    await jobs.idle()
    expect(jobs.get(writing.id).status).toBe('done')
  }, 120_000)
})
