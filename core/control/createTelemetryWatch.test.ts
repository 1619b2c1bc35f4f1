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

  it('a meter reading that stays put while the batteries and PV it measures move is frozen; noise and a steady site are not', () => {
    const watch = createTelemetryWatch({ name: 'meter1' })
    const at = (t: number, powerW: number, othersW: number | null) => watch.observe({ timeMs: t * 1000, powerW, othersW, importWh: 100, exportWh: 200, energyStepWh: 1 })
    // Grid near 0 W, nothing moves: nothing to see, for an hour.
    for (let t = 0; t < 3600; t++) expect(at(t, 12, 3000 + (t % 2) * 40).frozen).toBeNull()
    // PV drops by 6 kW: the grid must import it; 15 Wh of it unseen (9 s at 6 kW) and the reading is frozen.
    let verdict = at(3600, 12, 3000)
    let t = 3601
    for (; t < 3700 && !verdict.frozen; t++) verdict = at(t, 12, -3000)
    expect(t - 3601).toBeGreaterThanOrEqual(9) // 9 intervals of 1.67 Wh after the first (counted from its smaller end: 0)
    expect(t - 3601).toBeLessThanOrEqual(11)
    expect(verdict.frozen).toMatch(/^power reading frozen at 12 W for \d+ s while the batteries and PV it measures moved by 6000 W/)
    // It moves again: live.
    expect(at(t, 6012, -3000).frozen).toBeNull()
    // A mover not read this cycle (null) makes the check skip, not guess.
    const other = createTelemetryWatch({ name: 'meter2' })
    for (let u = 0; u < 100; u++) expect(other.observe({ timeMs: u * 1000, powerW: 5, othersW: u % 2 ? null : u * 100 }).frozen).toBeNull()
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
