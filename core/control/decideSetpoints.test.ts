import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decideSetpoints, type BatteryLimits, type BatterySnapshot, type DecideParameters, type PvSnapshot } from './decideSetpoints.ts'

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
const one = (p: DecideParameters) => decideSetpoints(p).batteries[0]!

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

  it('holds a battery with frozen readings at 0 W whatever the plan, the market and the ramp say; an unreachable one is not commanded', () => {
    const frozen = base({ snapshot: { timeMs: 0, gridW: 3000, pvW: 0, batteries: [{ name: 'b', powerW: null, socPct: null, stale: true, untrusted: 'SoC frozen at 83.3 %' }] }, plan: { batteryPowerW: -4400, slotStartMs: 0 }, market: { extraExportW: 2000 }, previousW: { b: -4400 }, dtS: 1 })
    expect(one(frozen)).toMatchObject({ setpointW: 0, mode: 'hold', envelope: { minW: 0, maxW: 0 } })
    expect(one(frozen).reasons[0]).toMatch(/SoC frozen at 83.3 %/)
    const gone = base({ snapshot: { timeMs: 0, gridW: 3000, pvW: 0, batteries: [{ name: 'b', powerW: null, socPct: null, stale: true, untrusted: null }] } })
    expect(one(gone)).toMatchObject({ setpointW: null, mode: 'not-commanded' })
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
          const {
            batteries: [d],
          } = decideSetpoints({
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

describe('decideSetpoints: PV caps', () => {
  const full = { name: 'b', powerW: 0, socPct: 96, stale: false }
  const pv = (name: string, powerW: number | null, extra: Partial<PvSnapshot> = {}): PvSnapshot => ({ name, powerW, limitPct: null, availableW: null, stale: powerW === null, ...extra })
  // Midday: 7 kW of PV, 2 kW of load, so 5 kW to spare.
  const midday = (over: Partial<DecideParameters> = {}, battery: BatterySnapshot = full): DecideParameters =>
    base({ snapshot: { timeMs: 0, gridW: -5000, pvW: 7000, batteries: [battery], pvInverters: [pv('pv', 7000)] }, pvLimits: { pv: { ratedW: 8000 } }, ...over })
  const cap = (p: DecideParameters) => decideSetpoints(p).pvInverters[0]!

  it('releases PV without an export limit or planned curtailment, and the battery decision does not change', () => {
    expect(cap(midday())).toMatchObject({ limitW: null, mode: 'released' })
    const without = base({ snapshot: { timeMs: 0, gridW: -5000, pvW: 7000, batteries: [full] } })
    expect(decideSetpoints(midday()).batteries).toEqual(decideSetpoints(without).batteries)
  })

  it('caps PV to load + export limit when a full battery cannot absorb the surplus', () => {
    const d = cap(midday({ site: { maxImportW: null, maxExportW: 2000 } }))
    expect(d).toMatchObject({ limitW: 4000, mode: 'export-limit' })
    expect(d.reasons.join()).toContain('export limit 2000 W')
  })

  it('lets the battery absorb first and caps only what it cannot take', () => {
    const half = { name: 'b', powerW: 0, socPct: 50, stale: false }
    expect(cap(midday({ site: { maxImportW: null, maxExportW: 2000 } }, half))).toMatchObject({ limitW: null, mode: 'released' })
    // 2 kW of charge, 2 kW of export: 4 kW of load + battery + export for the PV, 6 kW in all.
    const small = midday({ site: { maxImportW: null, maxExportW: 2000 }, limits: { b: { ...limits, maxChargeW: 2000 } } }, half)
    expect(decideSetpoints(small).batteries[0]!.setpointW).toBe(-2000)
    expect(cap(small)).toMatchObject({ limitW: 6000, mode: 'export-limit' })
  })

  it('shares a cap by rating, never commands a stale or unrated inverter and counts it as unchanged', () => {
    const snapshot = { timeMs: 0, gridW: -5000, pvW: null, batteries: [full], pvInverters: [pv('a', 3000), pv('b2', 3000), pv('gone', null), pv('unrated', 1000)] }
    const ds = decideSetpoints(base({ snapshot, site: { maxImportW: null, maxExportW: 0 }, pvLimits: { a: { ratedW: 6000 }, b2: { ratedW: 3000 }, gone: { ratedW: 5000 }, unrated: { ratedW: null } } })).pvInverters
    // a + b2 may give -5000 + 6000 = 1000 W in all, 2:1 by rating.
    expect(ds.map((d) => [d.name, d.limitW, d.mode])).toEqual([
      ['a', 666, 'export-limit'],
      ['b2', 333, 'export-limit'],
      ['gone', null, 'not-commanded'],
      ['unrated', null, 'not-commanded'],
    ])
  })

  it('curtails to the plan’s PV output, and the export limit still wins when it is lower', () => {
    const plan = { batteryPowerW: 0, slotStartMs: 0, pvPowerW: 3000, pvCurtailedW: 4000, exportPriceEurPerKWh: -0.05 }
    const d = cap(midday({ plan }))
    expect(d).toMatchObject({ limitW: 3000, mode: 'plan' })
    expect(d.reasons.join()).toContain('export price -0.05')
    expect(cap(midday({ plan, site: { maxImportW: null, maxExportW: 0 } }))).toMatchObject({ limitW: 2000, mode: 'export-limit' })
    expect(cap(midday({ plan: { ...plan, pvPowerW: 7000, pvCurtailedW: 0 } }))).toMatchObject({ limitW: null, mode: 'released' })
  })

  it('without a meter assumes no load: PV may only cover the export limit and battery charging', () => {
    const charging = { name: 'b', powerW: -1000, socPct: 50, stale: false }
    const p = base({ snapshot: { timeMs: 0, gridW: null, pvW: 7000, batteries: [charging], pvInverters: [pv('pv', 7000)] }, pvLimits: { pv: { ratedW: 8000 } }, plan: { batteryPowerW: -1000, slotStartMs: 0 }, site: { maxImportW: null, maxExportW: 500 } })
    expect(cap(p)).toMatchObject({ limitW: 1500, mode: 'export-limit' })
  })

  it('lets the battery take PV held back under its own cap, and lifts the cap by as much', () => {
    const half = { name: 'b', powerW: -1000, socPct: 50, stale: false }
    // Capped at 4 kW by us, the inverter could give 7 kW; 2 kW of load, 1 kW charging, 1 kW exported.
    const p = base({
      snapshot: { timeMs: 0, gridW: -1000, pvW: 4000, batteries: [half], pvInverters: [pv('pv', 4000, { limitPct: 50, availableW: 7000 })] },
      pvLimits: { pv: { ratedW: 8000 } }, site: { maxImportW: null, maxExportW: 500 }, previousPvLimitW: { pv: 4000 },
    })
    const d = decideSetpoints(p)
    expect(d.batteries[0]!.setpointW).toBe(-5000)
    // 2 kW load + 5 kW charging + 0.5 kW export.
    expect(d.pvInverters[0]).toMatchObject({ limitW: 7500, mode: 'export-limit' })
    // A cap that is not ours (an installer's 50 %) is not surplus the battery should chase.
    expect(decideSetpoints({ ...p, previousPvLimitW: {} }).batteries[0]!.setpointW).toBe(-2000)
  })
})

describe('decideSetpoints: PV caps for any readings, plan and limits', () => {
  const batteryLimits = fc.record({
    maxChargeW: fc.integer({ min: 100, max: 50_000 }),
    maxDischargeW: fc.integer({ min: 100, max: 50_000 }),
    socMinPct: fc.integer({ min: 0, max: 50 }),
    socMaxPct: fc.integer({ min: 51, max: 100 }),
    rampWPerS: fc.oneof(fc.constant(Infinity), fc.integer({ min: 1, max: 10_000 })),
  })
  const battery = fc.record({ powerW: fc.option(fc.double({ min: -5e4, max: 5e4, noNaN: true })), socPct: fc.option(fc.double({ min: 0, max: 100, noNaN: true })), limits: batteryLimits, previousW: fc.option(fc.double({ min: -5e4, max: 5e4, noNaN: true })) })
  const inverter = fc.record({
    ratedW: fc.option(fc.integer({ min: 100, max: 100_000 }), { freq: 8 }),
    powerW: fc.option(fc.double({ min: -100, max: 1e5, noNaN: true }), { freq: 6 }),
    limitPct: fc.option(fc.double({ min: 0, max: 100, noNaN: true })),
    availableW: fc.option(fc.double({ min: 0, max: 1e5, noNaN: true })),
    previousLimitW: fc.option(fc.double({ min: 0, max: 1e5, noNaN: true })),
  })
  const plan = fc.option(
    fc.record({ batteryPowerW: fc.double({ min: -5e4, max: 5e4, noNaN: true }), gridPowerW: fc.double({ min: -5e4, max: 5e4, noNaN: true }), pvPowerW: fc.double({ min: 0, max: 2e5, noNaN: true }), pvCurtailedW: fc.double({ min: 0, max: 1e5, noNaN: true }), exportPriceEurPerKWh: fc.double({ min: -1, max: 1, noNaN: true }), slotStartMs: fc.constant(0) }),
  )
  const parameters = fc
    .record({
      gridW: fc.option(fc.double({ min: -2e5, max: 2e5, noNaN: true }), { freq: 6 }),
      batteries: fc.array(battery, { maxLength: 3 }),
      inverters: fc.array(inverter, { minLength: 1, maxLength: 4 }),
      maxImportW: fc.option(fc.integer({ min: 0, max: 1e5 })),
      maxExportW: fc.option(fc.integer({ min: 0, max: 1e5 }), { freq: 4 }),
      plan,
      dtS: fc.double({ min: 0, max: 60, noNaN: true }),
    })
    .map((g): DecideParameters => ({
      snapshot: {
        timeMs: 0,
        gridW: g.gridW,
        pvW: null,
        batteries: g.batteries.map((b, i) => ({ name: `b${i}`, powerW: b.powerW, socPct: b.powerW === null ? null : b.socPct, stale: b.powerW === null })),
        pvInverters: g.inverters.map((v, i) => ({ name: `pv${i}`, powerW: v.powerW, limitPct: v.limitPct, availableW: v.availableW, stale: v.powerW === null })),
      },
      limits: Object.fromEntries(g.batteries.map((b, i) => [`b${i}`, b.limits])),
      site: { maxImportW: g.maxImportW, maxExportW: g.maxExportW },
      plan: g.plan,
      market: null,
      previousW: Object.fromEntries(g.batteries.map((b, i) => [`b${i}`, b.previousW ?? undefined])),
      dtS: g.dtS,
      pvLimits: Object.fromEntries(g.inverters.map((v, i) => [`pv${i}`, { ratedW: v.ratedW }])),
      previousPvLimitW: Object.fromEntries(g.inverters.map((v, i) => [`pv${i}`, v.previousLimitW])),
    }))

  it('keeps every cap within [0, rating] and never commands a stale or unrated inverter', () => {
    fc.assert(
      fc.property(parameters, (p) => {
        const { pvInverters } = decideSetpoints(p)
        expect(pvInverters.map((d) => d.name)).toEqual(p.snapshot.pvInverters!.map((v) => v.name))
        for (const [i, d] of pvInverters.entries()) {
          const reading = p.snapshot.pvInverters![i]!
          const ratedW = p.pvLimits![d.name]!.ratedW
          if (reading.stale || ratedW === null) expect(d).toMatchObject({ limitW: null, mode: 'not-commanded' })
          if (d.limitW === null) continue
          expect(Number.isFinite(d.limitW)).toBe(true)
          expect(d.limitW).toBeGreaterThanOrEqual(0)
          expect(d.limitW).toBeLessThanOrEqual(ratedW!)
        }
      }),
      { numRuns: 3000 },
    )
  })

  it('keeps grid export within maxExportW whenever curtailing the commandable PV could', () => {
    fc.assert(
      fc.property(parameters, (p) => {
        const maxExportW = p.site.maxExportW
        if (maxExportW === null) return
        const { batteries, pvInverters } = decideSetpoints(p)
        // The worst case next cycle: every commanded inverter at its cap (its rating when released).
        let pvNowW = 0
        let pvNextW = 0
        for (const [i, d] of pvInverters.entries()) {
          if (d.mode === 'not-commanded') continue // stale or unrated: assumed to keep its output
          pvNowW += p.snapshot.pvInverters![i]!.powerW!
          pvNextW += d.limitW ?? d.ratedW!
        }
        let batteryChangeW = 0
        let batteryNextW = 0
        for (const [i, d] of batteries.entries()) {
          if (d.setpointW === null) continue
          batteryChangeW += p.snapshot.batteries[i]!.powerW! - d.setpointW
          batteryNextW += d.setpointW
        }
        const tolerance = 1e-6 * (1 + Math.abs(pvNowW) + Math.abs(batteryChangeW) + Math.abs(p.snapshot.gridW ?? 0) + maxExportW)
        if (p.snapshot.gridW !== null) {
          const couldW = p.snapshot.gridW + pvNowW + batteryChangeW // grid next with the commandable PV at 0
          if (couldW < -maxExportW) return // even no PV exports too much: batteries discharge or PV we cannot command
          expect(p.snapshot.gridW + pvNowW - pvNextW + batteryChangeW).toBeGreaterThanOrEqual(-maxExportW - tolerance)
        } else {
          // No meter: assume no load at all.
          if (maxExportW - batteryNextW < 0) return
          expect(pvNextW + batteryNextW).toBeLessThanOrEqual(maxExportW + tolerance)
        }
      }),
      { numRuns: 3000 },
    )
  })
})
