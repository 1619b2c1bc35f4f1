import { expect, it } from 'vitest'
import { createLiveSiteView } from './createLiveSiteView.ts'

const market = { chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', embedded: false, market: `0x${'1'.repeat(40)}`, token: `0x${'2'.repeat(40)}`, intervalSec: 900, disputeWindowSec: 3600, penaltyBps: 2_000n, community: 'c' } as const

it("shows this site's escrow as first read and now, and what its agreed clearings not yet final lock", () => {
  const site = createLiveSiteView({ siteId: 2, brokerUrl: 'mqtt://127.0.0.1:1883', now: () => 0 })
  site.connected(market, [], { counters: () => ({ accepted: 0, oversized: 0, malformed: 0, replayed: 0, duplicate: 0, late: 0, forged: 0, conflicting: 0, unverified: 0 }), outboxPending: () => 0 })
  expect(site.view.ledger().balances).toEqual([])
  site.setBalance(1_000_000n)
  // bought 100 Wh at 150000 per kWh: the worst case locked is the energy plus a buyer's penalty (never below 100 %)
  const bought = site.interval(5n, 0, 900_000)
  bought.clearing = { interval: 5n, price: 150_000n, matches: [{ sellerSiteId: 1, buyerSiteId: 2, energyWh: 100 }], tradedWh: 100 }
  bought.check = { agrees: true, detail: 'this site buys 100 Wh' }
  // sold 200 Wh: a seller's lock is the penalty on what it sold
  const sold = site.interval(6n, 900_000, 1_800_000)
  sold.clearing = { interval: 6n, price: 100_000n, matches: [{ sellerSiteId: 2, buyerSiteId: 3, energyWh: 200 }], tradedWh: 200 }
  sold.check = { agrees: true, detail: 'this site sells 200 Wh' }
  // a clearing this site found wrong, and one already final, lock nothing here
  const wrong = site.interval(7n, 1_800_000, 2_700_000)
  wrong.clearing = { interval: 7n, price: 1n, matches: [{ sellerSiteId: 1, buyerSiteId: 2, energyWh: 500 }], tradedWh: 500 }
  wrong.check = { agrees: false, detail: 'not the auction' }
  const final = site.interval(4n, -900_000, 0)
  final.clearing = bought.clearing
  final.check = bought.check
  final.final = true
  site.setBalance(985_000n)
  expect(site.view.ledger().balances).toEqual([{ siteId: 2, before: '1000000', after: '985000', locked: String(30_000 + 4_000) }])
  expect(site.view.ledger().intervals.find((i) => i.interval === '7')!.check).toEqual({ agrees: false, detail: 'not the auction' })
})
