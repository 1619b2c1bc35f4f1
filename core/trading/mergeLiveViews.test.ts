import { describe, expect, it } from 'vitest'
import type { LiveMarketEvent, LiveMarketStatus, LiveMarketView } from '../market/live/liveMarketView.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import { mergeLiveViews } from './mergeLiveViews.ts'

const sig = { r: `0x${'1'.repeat(64)}`, vs: `0x${'2'.repeat(64)}` }
const interval = (n: number, over: Partial<MarketLedger['intervals'][number]> = {}): MarketLedger['intervals'][number] => ({
  interval: String(n),
  startMs: n * 60_000,
  endMs: (n + 1) * 60_000,
  orders: [],
  clearingPrice: null,
  tradedWh: 0,
  trades: [],
  readings: [],
  settlement: { state: 'no-trade', commitTx: null, settleTx: null, finalizeTx: null, disputeWindowEndsAtMs: null },
  ...over,
})
const counters = (n: number) => ({ accepted: n, oversized: 0, malformed: 0, replayed: n, duplicate: 0, late: 0, forged: 1, conflicting: 0, unverified: 0 })
function fakeView(role: LiveMarketStatus['role'], intervals: MarketLedger['intervals'], sites: MarketLedger['sites'], n: number) {
  const listeners = new Set<(e: LiveMarketEvent) => void>()
  const view: LiveMarketView = {
    ledger: () => ({ version: 1, source: 'live', writtenAtMs: 1, chain: { rpcUrl: 'http://x', chainId: 31337, embedded: false, market: `0x${'a'.repeat(40)}`, token: `0x${'b'.repeat(40)}` }, intervalSec: 60, disputeWindowSec: 0, sites, intervals, balances: [] }),
    status: () => ({ role, siteId: role === 'site' ? 2 : null, community: 'c', broker: { url: 'mqtt://b', connected: true, lastError: null }, chain: { rpcUrl: 'http://x', chainId: 31337, reachable: true, lastError: null }, counters: counters(n), presence: [{ role: 'site', siteId: n, online: true, epoch: '1', seenAtMs: 1 }], outboxPending: n, currentInterval: '5', gateClosesAtMs: 1 }),
    onEvent: (l) => (listeners.add(l), () => void listeners.delete(l)),
  }
  return { view, emit: (e: LiveMarketEvent) => listeners.forEach((l) => l(e)) }
}

describe('mergeLiveViews', () => {
  it("keeps the operator's intervals with the site's reading added, the site's own intervals, summed counters and both event streams", () => {
    const reading = { siteId: 2, importWh: 5, exportWh: 0, signature: sig }
    const site = fakeView('site', [interval(3, { readings: [reading] }), interval(4)], [{ siteId: 2, owner: `0x${'2'.repeat(40)}`, meter: `0x${'3'.repeat(40)}` }], 2)
    const operator = fakeView('operator', [interval(3, { clearingPrice: '7', tradedWh: 5, settlement: { state: 'settled', commitTx: `0x${'c'.repeat(64)}`, settleTx: `0x${'d'.repeat(64)}`, finalizeTx: null, disputeWindowEndsAtMs: 9 } })], [], 5)
    const merged = mergeLiveViews(site.view, operator.view)
    const ledger = merged.ledger()
    expect(ledger.intervals.map((i) => [i.interval, i.clearingPrice, i.settlement.state, i.readings.length])).toEqual([
      ['3', '7', 'settled', 1],
      ['4', null, 'no-trade', 0],
    ])
    expect(ledger.sites.map((s) => s.siteId)).toEqual([2])
    const status = merged.status()
    expect(status).toMatchObject({ role: 'site+operator', siteId: 2, outboxPending: 7, counters: { accepted: 7, replayed: 7, forged: 2 } })
    expect(status.presence.map((p) => p.siteId).sort()).toEqual([2, 5])
    const seen: string[] = []
    const off = merged.onEvent((e) => seen.push(e.detail))
    site.emit({ type: 'market', kind: 'order', interval: '4', atMs: 1, detail: 'site' })
    operator.emit({ type: 'market', kind: 'clearing', interval: '4', atMs: 1, detail: 'operator' })
    off()
    site.emit({ type: 'market', kind: 'order', interval: '5', atMs: 1, detail: 'after' })
    expect(seen).toEqual(['site', 'operator'])
  })
})
