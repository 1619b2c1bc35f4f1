import { describe, expect, it } from 'vitest'
import { faultKinds, planFaults, type PlanFaultsParameters } from './planFaults.ts'

const dayMs = 86_400_000
const base: PlanFaultsParameters = {
  seed: 1,
  count: 200,
  fromMs: Date.parse('2013-01-14T13:00:00Z'),
  toMs: Date.parse('2013-01-15T13:00:00Z'),
  cycleMs: 30_000,
  devices: [
    { name: 'pv1', kind: 'inverter' },
    { name: 'bat1', kind: 'battery' },
    { name: 'meter1', kind: 'meter' },
  ],
}

describe('planFaults', () => {
  it('draws the same schedule from the same seed, and another from another seed', () => {
    expect(planFaults(base)).toEqual(planFaults(base))
    expect(planFaults({ ...base, seed: 2 })).not.toEqual(planFaults(base))
  })

  it('plans exactly the faults asked for, every kind, on distinct cycle boundaries inside the quiet hours', () => {
    const faults = planFaults(base)
    expect(faults).toHaveLength(200)
    expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(faultKinds))
    expect(new Set(faults.map((f) => f.startMs)).size).toBe(200)
    for (const f of faults) {
      expect(f.startMs % base.cycleMs).toBe(0)
      expect(f.endMs % base.cycleMs).toBe(0)
      expect(f.startMs).toBeGreaterThanOrEqual(base.fromMs + 3_600_000)
      expect(f.endMs).toBeLessThanOrEqual(base.toMs - 3_600_000)
      expect(f.endMs - f.startMs).toBeGreaterThanOrEqual(f.kind === 'kill' ? 0 : base.cycleMs)
    }
  })

  it('ends a fault two cycles before the next one on the same target where there is room', () => {
    const faults = planFaults({ ...base, count: 300 })
    for (const [i, f] of faults.entries()) {
      const next = faults.slice(i + 1).find((x) => x.target === f.target)
      if (next && next.startMs - f.startMs >= 3 * base.cycleMs) expect(f.endMs).toBeLessThanOrEqual(next.startMs - 2 * base.cycleMs)
    }
  })

  it('targets what each kind can hit: trips never the meter, service faults the service', () => {
    for (const f of planFaults({ ...base, count: 500, toMs: base.fromMs + 7 * dayMs })) {
      if (f.kind === 'trip') expect(f.target).not.toBe('meter1')
      if (f.kind === 'kill') expect(f.target).toBe('service')
      if (f.kind === 'forecast' || f.kind === 'plan') expect(f.target).toBe(f.kind)
      if (f.kind === 'kill') expect(f.kill).toBeDefined()
      expect(f.sim === null).toBe(f.kind === 'kill' || f.kind === 'forecast' || f.kind === 'plan')
    }
  })

  it('refuses more faults than cycles, and a run too short for its quiet hours', () => {
    expect(() => planFaults({ ...base, count: 3000 })).toThrow(/3000 faults do not fit \d+ control cycles/)
    expect(() => planFaults({ ...base, toMs: base.fromMs + 2 * 3_600_000 })).toThrow(/too short/)
  })
})
