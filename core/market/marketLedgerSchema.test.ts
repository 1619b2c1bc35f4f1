import { describe, expect, expectTypeOf, it } from 'vitest'
import type { z } from 'zod'
import { fakeLiveLedger, fakeLiveStatus } from '../../test/support/fakeLiveMarketView.ts'
import type { LiveMarketEvent, LiveMarketStatus } from './live/liveMarketView.ts'
import { liveMarketEventSchema, liveMarketStatusSchema, marketLedgerSchema } from './marketLedgerSchema.ts'

const t = Date.UTC(2026, 11, 2, 11)

// The schemas core/api checks a live market node's answers and events with (GET /api/market, `market` events).
describe('liveMarketStatusSchema, liveMarketEventSchema, balances.locked', () => {
  it('has exactly the shape of LiveMarketStatus, and accepts every LiveMarketEvent', () => {
    expectTypeOf<z.infer<typeof liveMarketStatusSchema>>().toEqualTypeOf<LiveMarketStatus>()
    expectTypeOf<LiveMarketEvent>().toExtend<z.input<typeof liveMarketEventSchema>>()
    expect(liveMarketStatusSchema.parse(fakeLiveStatus(t))).toEqual(fakeLiveStatus(t))
  })

  it.each([
    ['a drop reason the validator does not count', { counters: { ...fakeLiveStatus(t).counters, spoofed: 1 } }, /counters: Unrecognized key: "spoofed"/],
    ['a missing drop counter', { counters: { ...fakeLiveStatus(t).counters, late: undefined } }, /counters\.late/],
    ['a fractional counter', { counters: { ...fakeLiveStatus(t).counters, forged: 1.5 } }, /counters\.forged/],
    ['a presence role that is neither', { presence: [{ ...fakeLiveStatus(t).presence[0]!, role: 'admin' }] }, /presence\.0\.role/],
    ['an interval that is not a decimal', { currentInterval: '0x10' }, /currentInterval/],
  ])('refuses %s, naming the field', (_name, change, field) => {
    const result = liveMarketStatusSchema.safeParse({ ...fakeLiveStatus(t), ...change })
    expect(result.success).toBe(false)
    expect(result.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')).toMatch(field)
  })

  it('takes an event with or without its tx, and refuses an unknown kind or a tx that is not a hash', () => {
    const e: LiveMarketEvent = { type: 'market', kind: 'settle', interval: '12', atMs: 1, detail: 'settled', tx: `0x${'0a'.repeat(32)}` }
    expect(liveMarketEventSchema.parse(e)).toEqual(e)
    expect(liveMarketEventSchema.parse({ ...e, tx: undefined, interval: null })).toMatchObject({ interval: null })
    expect(liveMarketEventSchema.safeParse({ ...e, kind: 'mint' }).success).toBe(false)
    expect(liveMarketEventSchema.safeParse({ ...e, tx: '0x12' }).success).toBe(false)
  })

  it('a ledger balance may say what committed intervals lock (older ledgers without it stay valid); a lock is a decimal', () => {
    const ledger = fakeLiveLedger(t)
    expect(marketLedgerSchema.parse(ledger).balances[1]).toEqual({ siteId: 2, before: '100000000', after: '99664000', locked: '240000' })
    expect(marketLedgerSchema.safeParse({ ...ledger, balances: ledger.balances.map(({ locked: _, ...b }) => b) }).success).toBe(true)
    expect(marketLedgerSchema.safeParse({ ...ledger, balances: [{ ...ledger.balances[0]!, locked: 36000 }] }).success).toBe(false)
  })
})
