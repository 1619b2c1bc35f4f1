import { describe, expect, it } from 'vitest'
import type { PlanInputParameters } from './planInputSchema.ts'
import { planSchedule } from './planSchedule.ts'

const HOUR_MS = 3_600_000
const START_MS = Date.UTC(2026, 2, 1)

/** Two cheap night hours, then two peak hours with a 2 kW forecast whose P90 is `p90W`. */
function nightThenPeak(p90W: (number | null)[] | null, battery: Partial<NonNullable<PlanInputParameters['battery']>> = {}, importPrice = [0.15, 0.15, 0.38, 0.38]): PlanInputParameters {
  const load = [500, 500, 2000, 2000]
  return {
    startMs: START_MS,
    slotDurationMs: HOUR_MS,
    slots: load.map((w, t) => ({
      loadPowerW: w,
      pvPowerW: 0,
      importPriceEurPerKWh: importPrice[t]!,
      exportPriceEurPerKWh: 0,
      ...(p90W && { loadP90PowerW: p90W[t] }),
    })),
    battery: { capacityWh: 10_000, socPct: 10, minSocPct: 10, maxSocPct: 100, maxChargePowerW: 5000, maxDischargePowerW: 5000, chargeEfficiency: 0.95, dischargeEfficiency: 0.95, ...battery },
    solver: { mipAbsGap: 0, mipRelGap: 0 },
  }
}

const minKWh = 1
const kWhAt = (socPct: number | null) => ((socPct ?? NaN) / 100) * 10

describe('planSchedule: SoC headroom against the P90 load at peak prices', () => {
  it('without a P90 the plan charges only what the forecast peak load needs and gives no reasons', async () => {
    const plan = await planSchedule(nightThenPeak(null))
    // 2 x 2 kWh at the peak from storage: 4 / 0.95 stored; the battery ends at its minimum.
    expect(kWhAt(plan.slots[1]!.socPct)).toBeCloseTo(minKWh + 4 / 0.95, 4)
    expect(kWhAt(plan.slots[3]!.socPct)).toBeCloseTo(minKWh, 4)
    expect(plan.slots.every((s) => s.reasons === undefined)).toBe(true)
  })

  it('with a P90 above the forecast it stores the P90 load\'s extra energy too, keeps it through the peak and says so per slot', async () => {
    const plan = await planSchedule(nightThenPeak([null, null, 3000, 3500]))
    // Extra over the peak: (1 + 1.5) kWh AC = 2.5 / 0.95 stored; after the first peak hour 1 / 0.95 of it is due.
    expect(kWhAt(plan.slots[1]!.socPct)).toBeCloseTo(minKWh + 4 / 0.95 + 2.5 / 0.95, 4)
    expect(kWhAt(plan.slots[2]!.socPct)).toBeGreaterThanOrEqual(minKWh + 1 / 0.95 + 2 / 0.95 - 1e-6)
    expect(kWhAt(plan.slots[3]!.socPct)).toBeCloseTo(minKWh + 2.5 / 0.95, 4)
    // The forecast, not the P90, is what the plan expects to serve.
    expect(plan.slots.map((s) => s.loadPowerW)).toEqual([500, 500, 2000, 2000])
    expect(plan.slots[0]!.reasons).toBeUndefined()
    expect(plan.slots[2]!.reasons).toEqual([expect.stringMatching(/^load P90 3000 W at the peak import price 0\.38 EUR\/kWh: keeps 1\.05 kWh of SoC above the minimum as headroom/)])
    expect(plan.slots[3]!.reasons).toEqual([expect.stringMatching(/^load P90 3500 W .*keeps 2\.63 kWh/)])
  })

  it('when the battery cannot hold the headroom it plans what fits and says it falls short', async () => {
    // 6 kWh usable: 4 / 0.95 for the forecast leaves 1.79 kWh of the 2.63 the P90 wants.
    const plan = await planSchedule(nightThenPeak([null, null, 3000, 3500], { capacityWh: 7000, socPct: 100 / 7, minSocPct: 100 / 7 }))
    expect(((plan.slots[1]!.socPct ?? 0) / 100) * 7).toBeCloseTo(7, 4)
    expect(plan.slots[3]!.reasons).toEqual([expect.stringMatching(/headroom of 1\.79 kWh above the minimum SoC, short of the 2\.63 kWh/)])
    expect(plan.status).toBe('optimal')
  })

  it('keeps no headroom where the price is flat, below the forecast, or outside the peak', async () => {
    const flat = await planSchedule(nightThenPeak([null, null, 3000, 3500], {}, [0.3, 0.3, 0.3, 0.3]))
    expect(flat.slots.every((s) => s.reasons === undefined)).toBe(true)
    // A P90 below the forecast (crossed quantiles) is the forecast: nothing to hedge.
    const below = await planSchedule(nightThenPeak([null, null, 1000, 1500]))
    expect(kWhAt(below.slots[3]!.socPct)).toBeCloseTo(minKWh, 4)
    expect(below.slots.every((s) => s.reasons === undefined)).toBe(true)
    // Off-peak P90 alone asks for nothing.
    const offPeak = await planSchedule(nightThenPeak([5000, 5000, 2000, 2000]))
    expect(kWhAt(offPeak.slots[3]!.socPct)).toBeCloseTo(minKWh, 4)
  })

  it('refuses a negative or absurd P90, naming the slot', async () => {
    await expect(planSchedule(nightThenPeak([null, null, -1, 2000]))).rejects.toThrow(/slots\[2\]\.loadP90PowerW/)
    await expect(planSchedule(nightThenPeak([null, null, 2e9, 2000]))).rejects.toThrow(/slots\[2\]\.loadP90PowerW.*1 GW/)
  })
})
