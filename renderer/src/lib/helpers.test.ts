import { describe, expect, it } from 'vitest'
import { ApiError } from '../transport/ApiError.ts'
import type { Alarm, CycleReport, Plan, PlanSlot } from '../transport/apiTypes.ts'
import { alignSeries } from './alignSeries.ts'
import { explainSlot } from './explainSlot.ts'
import { fieldErrors } from './fieldErrors.ts'
import { isaAlarmState } from './isaAlarmState.ts'
import { nextBackoffMs } from './nextBackoffMs.ts'
import { parseRoute } from './parseRoute.ts'
import { readTokenFromLink } from './readTokenFromLink.ts'
import { roleAllows } from './roleAllows.ts'
import { siteFlows } from './siteFlows.ts'

const slot = (o: Partial<PlanSlot>): PlanSlot => ({ startMs: 0, batteryPowerW: 0, gridPowerW: 0, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: 50, flexibleLoads: [], marketBuyW: 0, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.05, ...o })
const plan = (slots: PlanSlot[]): Plan => ({ version: 1, createdAtMs: 0, startMs: 0, slotDurationMs: 900_000, objective: 'cost', objectiveValue: 0, expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: 50, unmetGoals: [], warnings: [], solveStats: { solveTimeMs: 1, rounds: 1, integerVariables: 0, columns: 0, rows: 0 }, slots }) as Plan
const alarm = (o: Partial<Alarm>): Alarm => ({ id: 1, key: 'k', device: null, severity: 'warning', message: 'm', state: 'unacknowledged', conditionActive: true, raisedAtMs: 0, acknowledgedAtMs: null, acknowledgedBy: null, clearedAtMs: null, shelvedAtMs: null, shelvedBy: null, shelvedUntilMs: null, shelveReason: null, changedAtMs: 0, ...o })

describe('alignSeries', () => {
  it('puts series with their own times on one sorted axis, null where a series has no value', () => {
    const { x, ys } = alignSeries([{ t: [0, 10, 20], v: [1, 2, 3] }, { t: [5, 10, 30], v: [7, 8, 9] }])
    expect(x).toEqual([0, 5, 10, 20, 30])
    expect(ys).toEqual([[1, null, 2, 3, null], [null, 7, 8, null, 9]])
  })
  it('keeps the last of duplicate times and handles empty series', () => {
    expect(alignSeries([{ t: [1, 1, 2], v: [5, 6, 7] }, { t: [], v: [] }])).toEqual({ x: [1, 2], ys: [[5, 7], [null, null]] })
  })
  it('aligns a week of seconds (604,800 points) with a 96-slot plan', () => {
    const n = 604_800
    const t = Array.from({ length: n }, (_, i) => i * 1000)
    const { x, ys } = alignSeries([{ t, v: t }, { t: Array.from({ length: 96 }, (_, i) => i * 900_000), v: Array(96).fill(1) }])
    expect(x.length).toBe(n)
    expect(ys[1]!.filter((v) => v === 1).length).toBe(96)
  })
})

describe('isaAlarmState', () => {
  it('shows the server state, and an expired shelve as what the server turns it into', () => {
    expect(isaAlarmState(alarm({ state: 'acknowledged' }), 10)).toBe('acknowledged')
    expect(isaAlarmState(alarm({ state: 'shelved', shelvedUntilMs: 100 }), 99)).toBe('shelved')
    expect(isaAlarmState(alarm({ state: 'shelved', shelvedUntilMs: 100, conditionActive: true }), 100)).toBe('unacknowledged')
    expect(isaAlarmState(alarm({ state: 'shelved', shelvedUntilMs: 100, conditionActive: false }), 101)).toBe('normal')
    expect(isaAlarmState(alarm({ state: 'returned-unacknowledged', conditionActive: false }), 0)).toBe('returned-unacknowledged')
  })
})

describe('explainSlot', () => {
  it('says why from the plan numbers: PV surplus, cheap grid, or expensive import', () => {
    const later = slot({ startMs: 900_000, importPriceEurPerKWh: 0.45 })
    expect(explainSlot(slot({ batteryPowerW: -2000, pvPowerW: 4000, loadPowerW: 1000 }), plan([later]))[0]).toContain('PV surplus of 3.00 kW')
    expect(explainSlot(slot({ batteryPowerW: -2000, importPriceEurPerKWh: 0.1 }), plan([later]))[0]).toBe('charging from the grid at 0.100 EUR/kWh, below the 0.450 EUR/kWh ahead')
    expect(explainSlot(slot({ batteryPowerW: 1500, loadPowerW: 2000, importPriceEurPerKWh: 0.45 }), plan([slot({ startMs: 900_000, importPriceEurPerKWh: 0.2 })]))[0]).toContain('cheaper later: 0.200 EUR/kWh')
    const why = explainSlot(slot({ pvCurtailedW: 500, marketSellW: 1000 }), plan([]), ['export limit 5000 W'])
    expect(why).toEqual(expect.arrayContaining(['PV curtailed by 500 W', 'market: selling 1.00 kW', 'limit: export limit 5000 W']))
  })
})

describe('siteFlows', () => {
  const cycle = (o: Partial<CycleReport['snapshot']>, planSlotStartMs: number | null = null) =>
    ({ timeMs: 1000, snapshot: { timeMs: 1000, gridW: 500, pvW: 2000, batteries: [{ name: 'b', powerW: -300, socPct: 60, stale: false }], ...o }, devices: [], decisions: [], pvDecisions: [], writes: [], planSlotStartMs, alarms: { raised: [], cleared: [] }, durationMs: 1 }) as CycleReport
  it('derives load = pv + battery + grid and finds the slot in force', () => {
    const f = siteFlows(cycle({}, 900_000), plan([slot({ startMs: 0 }), slot({ startMs: 900_000, marketSellW: 700 })]))
    expect(f.loadW).toBe(2200)
    expect(f.socPct).toBe(60)
    expect(f.slotIndex).toBe(1)
    expect(f.marketW).toBe(700)
    expect(f.marketSource).toBe('plan')
  })
  it('shows the cleared interval in force over the plan: what the site committed to, and whether the loop delivers it', () => {
    const p = plan([slot({ startMs: 0 })])
    const traded = (market: CycleReport['market']) => siteFlows({ ...cycle({}, 0), market }, p)
    expect(traded({ committedW: -940, extraExportW: -940, delivered: true })).toMatchObject({ marketW: -940, marketSource: 'committed' })
    expect(traded({ committedW: -940, extraExportW: -940, delivered: false })).toMatchObject({ marketW: -940, marketSource: 'not delivered' })
    expect(traded({ committedW: 0, extraExportW: 0, delivered: true })).toMatchObject({ marketW: null, marketSource: 'committed' })
    expect(traded(null)).toMatchObject({ marketW: null, marketSource: 'plan' })
  })
  it('gives no load when a term is missing, rather than a wrong one', () => {
    expect(siteFlows(cycle({ gridW: null }), null).loadW).toBeNull()
    expect(siteFlows(null, null).loadW).toBeNull()
  })
})

describe('small helpers', () => {
  it('backs off 0.5 s doubling to 15 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map((a) => nextBackoffMs(a))).toEqual([500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000])
  })
  it('routes', () => {
    expect(parseRoute('#/devices/bat%201')).toEqual({ view: 'devices', detail: 'bat 1' })
    expect(parseRoute('#/nope')).toEqual({ view: 'overview', detail: null })
    expect(parseRoute('')).toEqual({ view: 'overview', detail: null })
  })
  it('puts a refusal next to its field, or on the form', () => {
    expect(fieldErrors(new ApiError(400, 'ApiRequestError', 'grid.maxImportW: must be > 0', 'grid.maxImportW'), 'grid.')).toEqual({ maxImportW: 'grid.maxImportW: must be > 0' })
    expect(fieldErrors(new ApiError(403, 'ForbiddenError', 'role viewer cannot setMode'))).toEqual({ '': 'role viewer cannot setMode' })
  })
  it('takes a #token= link once, and strips it from the address bar', () => {
    const store = new Map<string, string>()
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) }
    let replaced = ''
    const hist = { replaceState: (_s: unknown, _t: string, url: string) => void (replaced = url) }
    expect(readTokenFromLink({ hash: '#token=abc_DEF-1', pathname: '/', search: '' }, hist, storage)).toBe('abc_DEF-1')
    expect(replaced).toBe('/#/overview')
    expect(readTokenFromLink({ hash: '#/alarms', pathname: '/', search: '' }, hist, storage)).toBe('abc_DEF-1')
  })
  it('ranks roles', () => {
    expect(roleAllows('viewer', 'operator')).toBe(false)
    expect(roleAllows('installer', 'operator')).toBe(true)
    expect(roleAllows(null, 'viewer')).toBe(false)
  })
})
