import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createStore } from '../store/createStore.ts'
import { planDemoHistory } from './planDemoHistory.ts'
import { storeMeasuredHistory } from './storeMeasuredHistory.ts'

const slotMs = 900_000
const dayMs = 86_400_000
const nowMs = Date.parse('2026-12-02T07:31:12Z')
const openStore = () => createStore({ path: join(mkdtempSync(join(tmpdir(), 'gm-demo-history-')), 'gridmesh.db') })
/** Slot means from `fromMs` for `count` slots, load following the slot number so a misplaced row shows. */
const slots = (fromMs: number, count: number, skip = (_i: number) => false) =>
  Array.from({ length: count }, (_, i) => ({ startMs: fromMs + i * slotMs, loadW: 1000 + i, pvW: i % 7 })).filter((_, i) => !skip(i))

describe('planDemoHistory', () => {
  it('a fresh data folder measures a week and an hour up to the slot now is in, and the site goes live there', () => {
    const store = openStore()
    const plan = planDemoHistory({ store, nowMs, historyDays: 7 })
    const live = Date.parse('2026-12-02T07:30:00Z')
    expect(plan).toEqual({ liveFromMs: live, measure: { fromMs: live - 7 * dayMs - 3_600_000, toMs: live }, storedDays: 0 })
    expect(planDemoHistory({ store, nowMs, historyDays: 28 }).measure!.fromMs).toBe(live - 28 * dayMs - 3_600_000)
    store.close()
  })

  it('a folder holding the week goes on where its history ends, measuring nothing (the cache of a second start)', () => {
    const store = openStore()
    const from = Date.parse('2026-11-01T00:00:00Z')
    const week = slots(from, 7 * 96 + 4)
    storeMeasuredHistory(store, week, from + week.length * slotMs)
    const plan = planDemoHistory({ store, nowMs, historyDays: 7 })
    expect(plan.measure).toBeNull()
    expect(plan.liveFromMs).toBe(from + week.length * slotMs)
    expect(plan.storedDays).toBeCloseTo(week.length / 96, 6)
    store.close()
  })

  it('a folder with less than the week (or a week full of holes) measures a new week after it, so nothing stored is overwritten', () => {
    const store = openStore()
    const from = Date.parse('2026-11-01T00:00:00Z')
    const twoDays = slots(from, 2 * 96)
    storeMeasuredHistory(store, twoDays, from + twoDays.length * slotMs)
    const end = from + 2 * dayMs
    expect(planDemoHistory({ store, nowMs, historyDays: 7 })).toEqual({ liveFromMs: end + 7 * dayMs + 3_600_000, measure: { fromMs: end, toMs: end + 7 * dayMs + 3_600_000 }, storedDays: 2 })
    store.close()

    const holed = openStore()
    // every fifth slot missing: 20 % of the week, more than the 10 % the plan accepts
    const week = slots(from, 7 * 96 + 4, (i) => i % 5 === 0)
    storeMeasuredHistory(holed, week, from + (7 * 96 + 4) * slotMs)
    expect(planDemoHistory({ store: holed, nowMs, historyDays: 7 }).measure).not.toBeNull()
    holed.close()
  })
})

describe('storeMeasuredHistory', () => {
  it("stores the pass's slot means as the site's 15-minute load and PV, the tier the controller seeds its history from", () => {
    const store = openStore()
    const from = Date.parse('2026-11-01T00:00:00Z')
    const measured = slots(from, 3 * 96)
    storeMeasuredHistory(store, measured, from + measured.length * slotMs)
    const load = store.queryTelemetry({ device: 'site', point: 'loadW', fromMs: 0, toMs: nowMs, tier: '15m' })
    const pv = store.queryTelemetry({ device: 'site', point: 'pvW', fromMs: 0, toMs: nowMs, tier: '15m' })
    expect(load.map((r) => [r.timeMs, r.value])).toEqual(measured.map((s) => [s.startMs, s.loadW]))
    expect(pv.map((r) => [r.timeMs, r.value])).toEqual(measured.map((s) => [s.startMs, s.pvW]))
    store.close()
  })
})
