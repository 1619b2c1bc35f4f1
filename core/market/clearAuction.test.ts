import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { clearAuction } from './clearAuction.ts'
import { computeSettlement } from './computeSettlement.ts'
import { SIDE_ASK, SIDE_BID, type Order } from './typedData.ts'

const interval = 42n

/** 0..24 orders from distinct sites, prices on a coarse grid so ties happen often. */
const orderSet = fc
  .uniqueArray(
    fc.record({
      siteId: fc.integer({ min: 0, max: 63 }),
      side: fc.constantFrom(SIDE_BID, SIDE_ASK),
      energyWh: fc.integer({ min: 1, max: 20_000 }),
      limitPrice: fc.integer({ min: 0, max: 40 }).map((x) => BigInt(x * 5_000)),
    }),
    { selector: (o) => o.siteId, maxLength: 24 },
  )
  .map((os) => os.map((o): Order => ({ ...o, interval, deadline: 0n })))

describe('clearAuction', () => {
  it('is deterministic: any permutation of the order set gives the same clearing', () => {
    fc.assert(
      fc.property(
        orderSet.chain((os) => fc.tuple(fc.constant(os), fc.shuffledSubarray(os, { minLength: os.length, maxLength: os.length }))),
        ([orders, shuffled]) => {
          expect(clearAuction(interval, shuffled)).toEqual(clearAuction(interval, orders))
        },
      ),
    )
  })

  it('never trades against a limit price nor beyond an order, and leaves no crossing orders', () => {
    fc.assert(
      fc.property(orderSet, (orders) => {
        const c = clearAuction(interval, orders)
        const bySite = new Map(orders.map((o) => [o.siteId, o]))
        const matched = new Map<number, number>()
        for (const m of c.matches) {
          const ask = bySite.get(m.sellerSiteId)!
          const bid = bySite.get(m.buyerSiteId)!
          expect([ask.side, bid.side]).toEqual([SIDE_ASK, SIDE_BID])
          expect(m.energyWh).toBeGreaterThan(0)
          expect(bid.limitPrice >= c.price! && c.price! >= ask.limitPrice).toBe(true)
          matched.set(ask.siteId, (matched.get(ask.siteId) ?? 0) + m.energyWh)
          matched.set(bid.siteId, (matched.get(bid.siteId) ?? 0) + m.energyWh)
        }
        for (const [siteId, wh] of matched) expect(wh).toBeLessThanOrEqual(bySite.get(siteId)!.energyWh)
        // efficiency: what is left over does not cross
        const left = (o: Order) => o.energyWh - (matched.get(o.siteId) ?? 0)
        const bestBid = orders.filter((o) => o.side === SIDE_BID && left(o) > 0).reduce<bigint | null>((b, o) => (b === null || o.limitPrice > b ? o.limitPrice : b), null)
        const bestAsk = orders.filter((o) => o.side === SIDE_ASK && left(o) > 0).reduce<bigint | null>((a, o) => (a === null || o.limitPrice < a ? o.limitPrice : a), null)
        if (bestBid !== null && bestAsk !== null) expect(bestBid < bestAsk).toBe(true)
        expect(c.price === null).toBe(c.matches.length === 0)
      }),
    )
  })

  it('is budget balanced: settlement moves money between sites and creates none, whatever is delivered', () => {
    fc.assert(
      fc.property(
        orderSet,
        fc.array(fc.record({ importWh: fc.integer({ min: 0, max: 25_000 }), exportWh: fc.integer({ min: 0, max: 25_000 }) }), { minLength: 64, maxLength: 64 }),
        fc.bigInt({ min: 0n, max: 10_000n }),
        (orders, meter, penaltyBps) => {
          const c = clearAuction(interval, orders)
          if (c.price === null) return
          const siteIds = [...new Set(c.matches.flatMap((m) => [m.sellerSiteId, m.buyerSiteId]))].sort((a, b) => a - b)
          const pos = new Map(siteIds.map((id, i) => [id, i]))
          const s = computeSettlement({
            price: c.price,
            penaltyBps,
            readings: siteIds.map((id) => meter[id]!),
            matches: c.matches.map((m) => ({ sellerPos: pos.get(m.sellerSiteId)!, buyerPos: pos.get(m.buyerSiteId)!, energyWh: m.energyWh })),
          })
          expect(s.deltas.reduce((a, b) => a + b, 0n)).toBe(0n)
          expect(s.settledWh).toBeLessThanOrEqual(s.tradedWh)
          expect(s.tradedWh).toBe(c.tradedWh)
        },
      ),
    )
  })

  it('pays a full delivery exactly the traded energy at the clearing price', () => {
    const orders: Order[] = [
      { siteId: 1, interval, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n, deadline: 0n },
      { siteId: 2, interval, side: SIDE_BID, energyWh: 600, limitPrice: 200_000n, deadline: 0n },
    ]
    const c = clearAuction(interval, orders)
    expect(c.price).toBe(150_000n) // midpoint of the marginal bid and ask
    const s = computeSettlement({ price: c.price!, penaltyBps: 2_000n, readings: [{ importWh: 0, exportWh: 600 }, { importWh: 600, exportWh: 0 }], matches: [{ sellerPos: 0, buyerPos: 1, energyWh: 600 }] })
    expect(s.deltas).toEqual([(600n * 150_000n) / 1000n, -(600n * 150_000n) / 1000n])
  })

  it('rejects a second order of one site and an order for another interval', () => {
    const o: Order = { siteId: 1, interval, side: SIDE_ASK, energyWh: 10, limitPrice: 1n, deadline: 0n }
    expect(() => clearAuction(interval, [o, { ...o, side: SIDE_BID }])).toThrow(/orders\[1\] \(site 1\): expected one order per site and interval/)
    expect(() => clearAuction(interval, [{ ...o, interval: 41n }])).toThrow(/expected interval 42, got interval 41/)
  })

  it('rejects a site id that is no uint32 (NaN slipped through the one-order-per-site check: NaN !== NaN)', () => {
    const o: Order = { siteId: 1, interval, side: SIDE_ASK, energyWh: 10, limitPrice: 1n, deadline: 0n }
    for (const siteId of [Number.NaN, -1, 1.5, 2 ** 32]) {
      expect(() => clearAuction(interval, [{ ...o, siteId }])).toThrow(/orders\[0\] \(site .*\)\.siteId: expected an integer 0\.\.2\^32-1/)
    }
  })
})
