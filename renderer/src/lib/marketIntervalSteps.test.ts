import { describe, expect, it } from 'vitest'
import { fakeLiveLedger } from '../../../test/support/fakeLiveMarketView.ts'
import type { LiveMarketEvent } from '../transport/apiTypes.ts'
import { marketIntervalSteps } from './marketIntervalSteps.ts'

// Where each interval is, step by step, for the market view's rows.
const nowMs = Date.UTC(2026, 11, 2, 11, 5)
const [finalized, settled, delivering, next] = fakeLiveLedger(nowMs).intervals
const event = (kind: LiveMarketEvent['kind'], interval: string, detail: string): LiveMarketEvent => ({ type: 'market', kind, interval, atMs: nowMs, detail })

describe('marketIntervalSteps', () => {
  it('walks an interval from the gate to finalize', () => {
    expect(marketIntervalSteps(next!, [], nowMs)).toEqual({
      orders: { state: 'done', text: '1 ask · 2 bids' },
      clearing: { state: 'waiting', text: 'after gate closure' },
      check: { state: 'skipped', text: '—' },
      readings: { state: 'skipped', text: '—' },
      settlement: { state: 'skipped', text: 'no trade' },
    })
    expect(marketIntervalSteps(delivering!, [], nowMs)).toMatchObject({ clearing: { state: 'done', text: '120000 · 1.40 kWh' }, check: { state: 'waiting', text: 'not reported' }, readings: { state: 'waiting', text: 'after delivery' }, settlement: { state: 'waiting', text: 'delivery' } })
    expect(marketIntervalSteps(settled!, [], nowMs)).toMatchObject({ readings: { state: 'done', text: '3 of 3 sites' }, settlement: { state: 'waiting', text: 'settled, dispute window open' } })
    expect(marketIntervalSteps(finalized!, [], nowMs)).toMatchObject({ settlement: { state: 'done', text: 'finalized' } })
  })

  it('a past interval with readings missing says how many; one nobody traded in is not waiting for anything', () => {
    expect(marketIntervalSteps({ ...settled!, readings: settled!.readings.slice(0, 1), settlement: { ...settled!.settlement, state: 'no-trade', settleTx: null } }, [], nowMs).readings).toEqual({ state: 'waiting', text: '1 of 3 sites' })
    const empty = { ...settled!, orders: [], clearingPrice: null, tradedWh: 0, trades: [], readings: [], settlement: { state: 'no-trade' as const, commitTx: null, settleTx: null, finalizeTx: null, disputeWindowEndsAtMs: null } }
    expect(marketIntervalSteps(empty, [], nowMs)).toMatchObject({ orders: { state: 'skipped', text: 'no orders' }, clearing: { state: 'skipped', text: 'nothing traded' }, settlement: { state: 'skipped', text: 'no trade' } })
    expect(marketIntervalSteps(empty, [event('sat-out', empty.interval, 'no plan before the gate')], nowMs).orders).toEqual({ state: 'skipped', text: 'sat out: no plan before the gate' })
  })

  it("the check: the ledger's verdict first, else the interval's last check event; a difference is a problem, other intervals' events do not count", () => {
    const differs = event('check', delivering!.interval, 'recomputed clearing differs: price 118000 from the orders seen')
    expect(marketIntervalSteps(delivering!, [differs], nowMs).check).toEqual({ state: 'problem', text: 'differs', detail: differs.detail })
    expect(marketIntervalSteps(delivering!, [event('check', delivering!.interval, 'recomputed clearing agrees')], nowMs).check).toMatchObject({ state: 'done', text: 'agrees' })
    expect(marketIntervalSteps(delivering!, [event('check', settled!.interval, 'recomputed clearing differs')], nowMs).check.state).toBe('waiting')
    expect(marketIntervalSteps({ ...delivering!, check: { agrees: true, detail: 'same price, same matches' } }, [differs], nowMs).check).toEqual({ state: 'done', text: 'agrees', detail: 'same price, same matches' })
  })
})
