import { describe, expect, it } from 'vitest'
import { PlanInputError } from './PlanInputError.ts'
import { parsePlanInput } from './parsePlanInput.ts'

// Absurd magnitudes used to pass the schema and make HiGHS fail, and the CLI printed a
// fallback plan with exit code 0; an empty SoC range was a warning. Both are refused now.
const base = () => ({
  startMs: 1_767_225_600_000,
  slotDurationMs: 3_600_000,
  slots: [{ loadPowerW: 400, pvPowerW: 0, importPriceEurPerKWh: 0.2, exportPriceEurPerKWh: 0.05 }],
  battery: { capacityWh: 5000, socPct: 50, maxChargePowerW: 2500, maxDischargePowerW: 2500 },
})

function problemsOf(data: unknown): string[] {
  try {
    parsePlanInput(data, 'plan.json')
  } catch (error) {
    expect(error).toBeInstanceOf(PlanInputError)
    return (error as PlanInputError).problems
  }
  throw new Error('expected the input to be refused')
}

describe('parsePlanInput bounds', () => {
  it('refuses powers above 1 GW, naming the path and the value', () => {
    const input = base()
    input.slots[0]!.loadPowerW = 1e300
    input.battery.maxChargePowerW = 2e9
    expect(problemsOf(input)).toEqual([
      'slots[0].loadPowerW: expected a number <= 1000000000 (1 GW), got 1e+300',
      'battery.maxChargePowerW: expected a number <= 1000000000 (1 GW), got 2000000000',
    ])
  })

  it('refuses prices beyond ±10,000 EUR/kWh and capacities above 10 GWh', () => {
    const input = base()
    input.slots[0]!.importPriceEurPerKWh = 1e300
    input.slots[0]!.exportPriceEurPerKWh = -1e300
    input.battery.capacityWh = 1e300
    expect(problemsOf(input)).toEqual([
      'slots[0].importPriceEurPerKWh: expected a number <= 10000 (EUR/kWh), got 1e+300',
      'slots[0].exportPriceEurPerKWh: expected a number >= -10000 (EUR/kWh), got -1e+300',
      'battery.capacityWh: expected a number <= 10000000000 (10 GWh), got 1e+300',
    ])
  })

  it('refuses times outside the years 2000-2200 and absurd flexible loads', () => {
    const input = { ...base(), startMs: 1e300, flexibleLoads: [{ id: 'ev', powerW: 1e12, requiredSlots: 1e9 }] }
    expect(problemsOf(input)).toEqual([
      expect.stringMatching(/^startMs: expected a number <= 7258118400000 \(2200-01-01\), got 1e\+300$/),
      'flexibleLoads[0].powerW: expected a number <= 1000000000 (1 GW), got 1000000000000',
      'flexibleLoads[0].requiredSlots: expected a number <= 2016 (slots), got 1000000000',
    ])
  })

  it('refuses minSocPct above maxSocPct at battery.minSocPct', () => {
    const input = { ...base(), battery: { ...base().battery, minSocPct: 80, maxSocPct: 20 } }
    expect(problemsOf(input)).toEqual(['battery.minSocPct: expected at most maxSocPct (20), got 80'])
  })

  it('accepts the largest sane values', () => {
    const input = base()
    input.slots[0]!.loadPowerW = 1e9
    input.slots[0]!.importPriceEurPerKWh = -1e4
    input.battery.capacityWh = 1e10
    expect(parsePlanInput(input).slots[0]!.loadPowerW).toBe(1e9)
  })
})
