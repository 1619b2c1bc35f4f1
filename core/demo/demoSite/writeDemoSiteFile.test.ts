import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { chooseDemoHardware } from './chooseDemoHardware.ts'
import { readDemoSiteTemplate, writeDemoSiteFile } from './writeDemoSiteFile.ts'

describe('writeDemoSiteFile', () => {
  it('varies the demo site: its hardware, free 127.0.0.1 ports for every device and its API, a paused clock at the start', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gm-demo-site-')), 'site.yaml')
    const hardware = chooseDemoHardware(1)
    writeDemoSiteFile({ path, siteId: 1, hardware, startMs: Date.parse('2026-11-27T00:00:00Z') })
    const site = parse(readFileSync(path, 'utf8')) as ReturnType<typeof readDemoSiteTemplate> & { clock: unknown; api: unknown }
    expect(site.name).toBe('demo-site-1')
    expect(site.location).toEqual(readDemoSiteTemplate().location)
    expect(site.clock).toEqual({ start: '2026-11-27T00:00:00.000Z', speed: 0 })
    expect(site.api).toEqual({ host: '127.0.0.1', port: 0 })
    expect(site.load.peakW).toBe(hardware.loadPeakW)
    expect(site.devices.map((d) => d.transport)).toEqual(site.devices.map(() => expect.objectContaining({ type: 'tcp', host: '127.0.0.1', port: 0 })))
    expect(site.devices.find((d) => d.kind === 'inverter')).toMatchObject({ ratedW: hardware.pvRatedW })
    expect(site.devices.find((d) => d.kind === 'battery')).toMatchObject({ capacityWh: hardware.batteryCapacityWh, maxChargeW: hardware.batteryMaxW, maxDischargeW: hardware.batteryMaxW, initialSocPct: hardware.initialSocPct })
  })
})
