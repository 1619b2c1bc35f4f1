import { describe, expect, it } from 'vitest'
import { createTelemetryWatch, type WatchedReading } from './createTelemetryWatch.ts'

const battery = { capacityWh: 13_500, maxChargeW: 5000, maxDischargeW: 5000 }

describe('createTelemetryWatch', () => {
  it('names a frozen PV energy counter with how long and at what power', () => {
    const watch = createTelemetryWatch({ name: 'pv1' })
    let verdict = watch.observe({ timeMs: 0, powerW: 4500, energyWh: 5000, energyStepWh: 1 })
    // A 1 Wh counter is trusted to 10 Wh steps: frozen once 30 Wh flowed, 24 s at 4.5 kW.
    for (let t = 1; t <= 23; t++) verdict = watch.observe({ timeMs: t * 1000, powerW: 4500, energyWh: 5000, energyStepWh: 1 })
    expect(verdict.frozen).toBeNull()
    verdict = watch.observe({ timeMs: 24_000, powerW: 4500, energyWh: 5000, energyStepWh: 1 })
    expect(verdict.frozen).toBe('energy counter frozen at 5000 Wh for 24 s while producing 4500 W (30 Wh)')
    expect(watch.observe({ timeMs: 25_000, powerW: 4500, energyWh: 5032, energyStepWh: 1 }).frozen).toBeNull()
  })

  it('a battery power reading that does not follow a command is frozen; held at 0 W it is live again once it agrees and the SoC moves', () => {
    const watch = createTelemetryWatch({ name: 'bat1', battery })
    const at = (t: number, r: Partial<WatchedReading>) => watch.observe({ timeMs: t * 1000, powerW: 0, socPct: 50, socStepPct: 0.1, commandW: -4400, ...r })
    let verdict = at(0, { commandW: 0 })
    let t = 1
    for (; t < 60 && !verdict.frozen; t++) verdict = at(t, {})
    // 3 steps of 13.5 Wh at a 4400 W mismatch: 33 s (the first second after the command counts nothing).
    expect(t - 1).toBe(35)
    expect(verdict.frozen).toMatch(/^power reading frozen at 0 W for \d+ s while commanded -4400 W/)
    // On hold (0 W commanded) the frozen 0 W agrees; only a moving SoC shows the device is live.
    expect(at(t++, { commandW: 0 }).frozen).not.toBeNull()
    expect(at(t++, { commandW: 0, socPct: 50.4 }).frozen).toBeNull()
  })

  it('a frozen SoC on a live power reading stays frozen on hold until the SoC itself moves (no re-charge by a live power alone)', () => {
    const watch = createTelemetryWatch({ name: 'bat1', battery })
    let verdict = watch.observe({ timeMs: 0, powerW: -4400, socPct: 83.3, socStepPct: 0.1, commandW: -4400 })
    for (let t = 1; t <= 60; t++) verdict = watch.observe({ timeMs: t * 1000, powerW: -4400, socPct: 83.3, socStepPct: 0.1, commandW: -4400 })
    expect(verdict.frozen).toMatch(/^SoC frozen at 83.3 % for \d+ s while \d+ Wh flowed \(battery power -4400 W\)$/)
    for (let t = 61; t <= 120; t++) verdict = watch.observe({ timeMs: t * 1000, powerW: Math.max(-4400 + (t - 60) * 1000, 0), socPct: 83.3, socStepPct: 0.1, commandW: 0 })
    expect(verdict.frozen).toMatch(/SoC frozen/)
    expect(watch.observe({ timeMs: 121_000, powerW: 0, socPct: 83.6, socStepPct: 0.1, commandW: 0 }).frozen).toBeNull()
  })

  it('raises SoC drift from the integrated power, and not while the SoC is frozen', () => {
    const watch = createTelemetryWatch({ name: 'bat1', battery })
    watch.observe({ timeMs: 0, powerW: 0, socPct: 60, socStepPct: 0.1 })
    expect(watch.observe({ timeMs: 1000, powerW: 0, socPct: 65, socStepPct: 0.1 }).drift).toMatch(/SoC reads 65 % where its power allows at most 60 %/)
  })

  it('without capacity and ratings a battery SoC is not watched (nothing to derive a step from)', () => {
    const watch = createTelemetryWatch({ name: 'bat1', battery: { capacityWh: null, maxChargeW: null, maxDischargeW: null } })
    let verdict = watch.observe({ timeMs: 0, powerW: -4400, socPct: 50 })
    for (let t = 1; t < 3600; t++) verdict = watch.observe({ timeMs: t * 1000, powerW: -4400, socPct: 50 })
    expect(verdict).toEqual({ frozen: null, drift: null })
  })
})
