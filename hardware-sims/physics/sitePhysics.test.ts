import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { siteSchema } from '../site/siteSchema.ts'
import { loadVicElecShape } from './loadVicElecShape.ts'
import { advanceSitePhysics, createSitePhysics, socPctOf } from './sitePhysics.ts'

const site = siteSchema.parse({
  name: 'p',
  location: { latitudeDeg: -37.81, longitudeDeg: 144.96, timezone: 'Australia/Melbourne' },
  load: { peakW: 6000 },
  devices: [
    { name: 'pv', kind: 'inverter', transport: { type: 'tcp', port: 0 }, ratedW: 7000, azimuthDeg: 0 },
    { name: 'bat', kind: 'battery', transport: { type: 'tcp', port: 0 }, capacityWh: 10000, maxChargeW: 4000, maxDischargeW: 3000, chargeEfficiency: 0.9, dischargeEfficiency: 0.92, socMinPct: 10, socMaxPct: 90 },
  ],
})
const shape = loadVicElecShape()

describe('sitePhysics', () => {
  it('keeps energy balanced and the battery inside its limits for any sequence of commands', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.parse('2012-01-01T00:00:00Z'), max: Date.parse('2014-12-01T00:00:00Z') }),
        fc.array(fc.record({ setpointW: fc.option(fc.integer({ min: -20_000, max: 20_000 })), limitPct: fc.option(fc.integer({ min: 0, max: 100 })), minutes: fc.integer({ min: 1, max: 240 }) }), { minLength: 1, maxLength: 12 }),
        (startMs, commands) => {
          const physics = createSitePhysics(site, startMs)
          const bat = physics.batteries[0]!
          const start = bat.storedWh
          for (const c of commands) {
            bat.setpointW = c.setpointW === null ? null : { value: c.setpointW, expiresAtMs: Number.POSITIVE_INFINITY }
            physics.inverters[0]!.limitPct = c.limitPct === null ? null : { value: c.limitPct, expiresAtMs: Number.POSITIVE_INFINITY }
            advanceSitePhysics(physics, site, shape, 5, c.minutes * 60_000)
            expect(socPctOf(bat)).toBeGreaterThanOrEqual(10 - 1e-9)
            expect(socPctOf(bat)).toBeLessThanOrEqual(90 + 1e-9)
            expect(bat.powerW).toBeGreaterThanOrEqual(-4000)
            expect(bat.powerW).toBeLessThanOrEqual(3000)
            expect(physics.inverters[0]!.powerW).toBeLessThanOrEqual(7000 * (c.limitPct ?? 100) / 100 + 1e-9)
          }
          const e = physics.energy
          const supply = e.pvWh + e.gridImportWh + bat.dischargedWh
          const demand = e.loadWh + bat.chargedWh + e.gridExportWh
          expect(Math.abs(supply - demand)).toBeLessThan(1e-6 * Math.max(1, demand))
          expect(bat.storedWh - start).toBeCloseTo(bat.cellInWh - bat.cellOutWh, 6)
          expect(bat.cellInWh).toBeCloseTo(bat.chargedWh * 0.9, 6)
          expect(bat.cellOutWh).toBeCloseTo(bat.dischargedWh / 0.92, 6)
        },
      ),
      { numRuns: 40 },
    )
  })

  it('shapes the load from the Victoria data, scaled to the site peak', () => {
    const physics = createSitePhysics(site, Date.parse('2013-07-01T00:00:00Z'))
    let max = 0
    let min = Infinity
    for (let h = 0; h < 24 * 7; h++) {
      advanceSitePhysics(physics, site, shape, 1, 3_600_000)
      max = Math.max(max, physics.loadW)
      min = Math.min(min, physics.loadW)
    }
    expect(max).toBeLessThanOrEqual(6000)
    expect(max).toBeGreaterThan(3000)
    expect(min).toBeGreaterThan(0.25 * max) // a grid-scale shape: a high base load
    expect(min).toBeLessThan(0.8 * max)
  })
})
