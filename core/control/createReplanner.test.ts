import { expect, it } from 'vitest'
import type { PlanInputParameters } from '../schedule/planInputSchema.ts'
import { planSchedule } from '../schedule/planSchedule.ts'
import { createReplanner } from './createReplanner.ts'

const slotMs = 900_000
const t0 = Date.UTC(2026, 3, 1)
const inputAt = (slotStartMs: number): PlanInputParameters => ({
  startMs: slotStartMs,
  slotDurationMs: slotMs,
  slots: Array.from({ length: 8 }, (_, t) => ({ loadPowerW: 1000, pvPowerW: t < 4 ? 3000 : 0, importPriceEurPerKWh: t < 4 ? 0.1 : 0.4, exportPriceEurPerKWh: 0.05 })),
  battery: { capacityWh: 10_000, socPct: 50, maxChargePowerW: 3000, maxDischargePowerW: 3000 },
})

// The replanner's triggers: a small real plan, the SoC where the plan expects it.
function harness(marketOpen: () => boolean) {
  const made: { timeMs: number; market: boolean }[] = []
  const logged: string[] = []
  const replanner = createReplanner({
    policy: { kind: 'serve', checkEveryMs: 1e15 },
    slotMs,
    marketOpen,
    log: (m) => logged.push(m),
    makeInput: (timeMs, slotStartMs) => {
      made.push({ timeMs, market: marketOpen() })
      return inputAt(slotStartMs)
    },
    solve: (input, nowMs) => planSchedule(input, { nowMs }),
    onPlan: () => {},
  })
  return { replanner, made, logged }
}

it('a site that joins the market mid-slot plans its orders at once, once; without a market nothing re-plans inside the slot', async () => {
  let open = false
  const { replanner, made, logged } = harness(() => open)
  replanner.consider(t0, 50)
  await replanner.idle()
  replanner.consider(t0 + 30_000, 50)
  await replanner.idle()
  expect(made).toEqual([{ timeMs: t0, market: false }])

  // the market opens to this site (it joined and the port opened an interval): a plan now
  open = true
  replanner.consider(t0 + 60_000, 50)
  await replanner.idle()
  expect(made.at(-1)).toEqual({ timeMs: t0 + 60_000, market: true })
  expect(logged.join()).toMatch(/the market opened to this site/)
  // and only once: the plan in force was made with the market
  replanner.consider(t0 + 90_000, 50)
  await replanner.idle()
  expect(made).toHaveLength(2)
  // the next slot plans as always
  replanner.consider(t0 + slotMs, 50)
  await replanner.idle()
  expect(made).toHaveLength(3)
})

it('a failing plan is not retried every cycle because the market is open: the minute\'s retry rules', async () => {
  let open = false
  let fail = false
  const made: number[] = []
  const replanner = createReplanner({
    policy: { kind: 'serve', checkEveryMs: 1e15 },
    slotMs,
    marketOpen: () => open,
    log: () => {},
    makeInput: (timeMs, slotStartMs) => {
      made.push(timeMs)
      if (fail) throw new Error('forecast down')
      return inputAt(slotStartMs)
    },
    solve: (input, nowMs) => planSchedule(input, { nowMs }),
    onPlan: () => {},
  })
  replanner.consider(t0, 50)
  await replanner.idle()
  open = true
  fail = true
  replanner.consider(t0 + 10_000, 50) // joined: tries, fails
  await replanner.idle()
  replanner.consider(t0 + 20_000, 50)
  replanner.consider(t0 + 40_000, 50)
  await replanner.idle()
  expect(made).toEqual([t0, t0 + 10_000])
  replanner.consider(t0 + 70_000, 50) // a minute after the failure
  await replanner.idle()
  expect(made).toEqual([t0, t0 + 10_000, t0 + 70_000])
})
