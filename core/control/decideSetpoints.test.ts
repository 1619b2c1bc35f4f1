import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decideSetpoints, type BatteryLimits, type DecideParameters } from './decideSetpoints.ts'

const limits: BatteryLimits = { maxChargeW: 5000, maxDischargeW: 4000, socMinPct: 10, socMaxPct: 95, rampWPerS: 1000 }
const base = (over: Partial<DecideParameters> = {}): DecideParameters => ({
  snapshot: { timeMs: 0, gridW: 1000, pvW: 0, batteries: [{ name: 'b', powerW: 0, socPct: 50, stale: false }] },
  limits: { b: limits },
  site: { maxImportW: null, maxExportW: null },
  plan: null,
  market: null,
  previousW: {},
  dtS: 10,
  ...over,
})
const one = (p: DecideParameters) => decideSetpoints(p)[0]!

describe('decideSetpoints', () => {
  it('follows the plan inside the envelope and covers the net load without one', () => {
    expect(one(base({ plan: { batteryPowerW: -3000, slotStartMs: 0 } }))).toMatchObject({ setpointW: -3000, mode: 'plan' })
    expect(one(base())).toMatchObject({ setpointW: 1000, mode: 'self-consumption' })
  })

  it('never discharges at the SoC minimum nor charges at the maximum, whatever the plan says', () => {
    const low = base({ snapshot: { timeMs: 0, gridW: 3000, pvW: 0, batteries: [{ name: 'b', powerW: 0, socPct: 10, stale: false }] }, plan: { batteryPowerW: 3000, slotStartMs: 0 } })
    expect(one(low).setpointW).toBe(0)
    const high = base({ snapshot: { timeMs: 0, gridW: -3000, pvW: 0, batteries: [{ name: 'b', powerW: 0, socPct: 96, stale: false }] } })
    expect(one(high).setpointW).toBe(0)
  })

  it('tracks the grid instead of the planned battery power where the plan expects no exchange', () => {
    const d = one(base({ snapshot: { timeMs: 0, gridW: 700, pvW: 0, batteries: [{ name: 'b', powerW: 1000, socPct: 50, stale: false }] }, plan: { batteryPowerW: 1200, gridPowerW: 0, slotStartMs: 0 } }))
    expect(d.setpointW).toBe(1700)
    const far = one(base({ snapshot: { timeMs: 0, gridW: 700, pvW: 0, batteries: [{ name: 'b', powerW: 1000, socPct: 50, stale: false }] }, plan: { batteryPowerW: -2000, gridPowerW: 3700, slotStartMs: 0 } }))
    expect(far.setpointW).toBe(-2000)
  })

  it('ramps from the previous setpoint', () => {
    expect(one(base({ plan: { batteryPowerW: 4000, slotStartMs: 0 }, previousW: { b: 0 }, dtS: 1 })).setpointW).toBe(1000)
  })

  it('uses the battery to respect grid limits, and a market commitment cannot break the envelope', () => {
    const r = one(base({ snapshot: { timeMs: 0, gridW: 6000, pvW: 0, batteries: [{ name: 'b', powerW: 0, socPct: 50, stale: false }] }, site: { maxImportW: 4000, maxExportW: null }, plan: { batteryPowerW: 0, slotStartMs: 0 } }))
    expect(r.setpointW).toBe(2000)
    const m = one(base({ plan: { batteryPowerW: 3500, slotStartMs: 0 }, market: { extraExportW: 2000 } }))
    expect(m.setpointW).toBe(4000)
  })

  it('does not command a stale battery', () => {
    expect(one(base({ snapshot: { timeMs: 0, gridW: 0, pvW: 0, batteries: [{ name: 'b', powerW: null, socPct: null, stale: true }] } }))).toMatchObject({ setpointW: null, mode: 'not-commanded' })
  })

  it('keeps every setpoint inside the ratings and the SoC rules for any readings, plan and limits', () => {
    fc.assert(
      fc.property(
        fc.record({
          maxChargeW: fc.integer({ min: 100, max: 50_000 }),
          maxDischargeW: fc.integer({ min: 100, max: 50_000 }),
          socMinPct: fc.integer({ min: 0, max: 50 }),
          socMaxPct: fc.integer({ min: 51, max: 100 }),
          rampWPerS: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 10_000 })),
        }),
        fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true })),
        fc.option(fc.double({ min: -1e5, max: 1e5, noNaN: true })),
        fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
        fc.option(fc.double({ min: -1e6, max: 1e6, noNaN: true })),
        fc.option(fc.double({ min: -1e5, max: 1e5, noNaN: true })),
        fc.option(fc.integer({ min: 0, max: 1e6 })),
        fc.option(fc.integer({ min: 0, max: 1e6 })),
        fc.option(fc.double({ min: -1e5, max: 1e5, noNaN: true })),
        fc.double({ min: 0, max: 3600, noNaN: true }),
        (lim, gridW, powerW, socPct, planW, prev, maxImportW, maxExportW, extra, dtS) => {
          const [d] = decideSetpoints({
            snapshot: { timeMs: 0, gridW, pvW: null, batteries: [{ name: 'b', powerW, socPct, stale: powerW === null }] },
            limits: { b: lim },
            site: { maxImportW, maxExportW },
            plan: planW === null ? null : { batteryPowerW: planW, slotStartMs: 0 },
            market: extra === null ? null : { extraExportW: extra },
            previousW: { b: prev ?? undefined },
            dtS,
          })
          if (d!.setpointW === null) return powerW === null
          const w = d!.setpointW
          expect(Number.isFinite(w)).toBe(true)
          expect(w).toBeGreaterThanOrEqual(-lim.maxChargeW)
          expect(w).toBeLessThanOrEqual(lim.maxDischargeW)
          expect(w).toBeGreaterThanOrEqual(d!.envelope.minW)
          expect(w).toBeLessThanOrEqual(d!.envelope.maxW)
          if (socPct === null || socPct <= lim.socMinPct) expect(w).toBeLessThanOrEqual(0)
          if (socPct === null || socPct >= lim.socMaxPct) expect(w).toBeGreaterThanOrEqual(0)
          return true
        },
      ),
      { numRuns: 2000 },
    )
  })
})
