import { describe, expect, it } from 'vitest'
import { computeReferenceCosts } from './computeReferenceCosts.ts'
import { normalizePlanInput } from './normalizePlanInput.ts'
import { parsePlanInput } from './parsePlanInput.ts'
import type { PlanInputParameters } from './planInputSchema.ts'
import { planSchedule } from './planSchedule.ts'

const hour = 3_600_000
// Two hours of PV surplus then two of deficit; import 0.30, export 0.05 EUR/kWh.
const input = (battery?: PlanInputParameters['battery']): PlanInputParameters => ({
  startMs: Date.UTC(2026, 5, 1),
  slotDurationMs: hour,
  slots: [
    { loadPowerW: 1000, pvPowerW: 3000, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 },
    { loadPowerW: 1000, pvPowerW: 3000, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 },
    { loadPowerW: 2000, pvPowerW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 },
    { loadPowerW: 2000, pvPowerW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05 },
  ],
  ...(battery ? { battery } : {}),
  solver: { mipAbsGap: 0, mipRelGap: 0 },
})
const battery = { capacityWh: 10_000, socPct: 10, minSocPct: 10, maxSocPct: 90, maxChargePowerW: 1500, maxDischargePowerW: 1500, chargeEfficiency: 0.9, dischargeEfficiency: 0.9 }

describe('computeReferenceCosts', () => {
  it('prices no battery and plain self-consumption by hand', () => {
    const n = normalizePlanInput(parsePlanInput(input(battery)))
    const r = computeReferenceCosts(n, [0, 0, 0, 0])
    // No battery: export 2 kWh twice at 0.05, import 2 kWh twice at 0.30.
    expect(r.noBatteryEur).toBeCloseTo(-0.2 + 1.2, 6)
    // Self-consumption: charge 1.5 kW (limit) for 2 h -> +2.7 kWh stored, exporting 0.5 kWh each hour;
    // then discharge 1.5 kW for 1 h (1.667 kWh from store), and the last 1.033 kWh stored gives 0.93 kW.
    const exported = 2 * 0.5 * 0.05
    const imported = (0.5 + (2 - 1.033333 * 0.9)) * 0.3
    expect(r.selfConsumptionEur).toBeCloseTo(imported - exported, 4)
    expect(r.selfConsumptionEndSocPct).toBeCloseTo(10, 6)
  })

  it('has no self-consumption reference without a battery', () => {
    const r = computeReferenceCosts(normalizePlanInput(parsePlanInput(input())), [0, 0, 0, 0])
    expect(r.selfConsumptionEur).toBeNull()
  })

  it('goes out with every plan, and the optimum never costs more than self-consumption ending as full', async () => {
    const plan = await planSchedule(input(battery))
    const r = plan.referenceCostsEur!
    expect(r.selfConsumptionEur).not.toBeNull()
    // Both end at 10 % here, so the bills compare directly.
    expect(plan.expectedCostEur).toBeLessThanOrEqual(r.selfConsumptionEur! + 1e-6)
    expect(r.selfConsumptionEur!).toBeLessThan(r.noBatteryEur)
  })
})
