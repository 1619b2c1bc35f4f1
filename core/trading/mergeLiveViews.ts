import type { LiveMarketStatus, LiveMarketView } from '../market/live/liveMarketView.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'

const laterSettlement = (a: MarketLedger['intervals'][number], b: MarketLedger['intervals'][number]) => {
  const rank = { 'no-trade': 0, settled: 1, finalized: 2 } as const
  return rank[b.settlement.state] > rank[a.settlement.state] ? b : a
}

/**
 * One view of a process that is both a trading site and the operator (serve --operator):
 * the operator's ledger (every interval it cleared) with this site's readings and any
 * interval only the site saw, the site's status with the operator's role, counters summed
 * (the two nodes check messages separately), and both event streams.
 */
export function mergeLiveViews(site: LiveMarketView, operator: LiveMarketView): LiveMarketView {
  return {
    ledger(): MarketLedger {
      const s = site.ledger()
      const o = operator.ledger()
      const byInterval = new Map(o.intervals.map((i) => [i.interval, i]))
      for (const mine of s.intervals) {
        const theirs = byInterval.get(mine.interval)
        if (!theirs) byInterval.set(mine.interval, mine)
        else {
          const readings = [...theirs.readings, ...mine.readings.filter((r) => !theirs.readings.some((t) => t.siteId === r.siteId))].sort((a, b) => a.siteId - b.siteId)
          const check = mine.check ?? theirs.check
          byInterval.set(mine.interval, { ...laterSettlement(theirs, mine), orders: theirs.orders.length ? theirs.orders : mine.orders, readings, ...(check && { check }) })
        }
      }
      const sites = [...o.sites, ...s.sites.filter((x) => !o.sites.some((y) => y.siteId === x.siteId))].sort((a, b) => a.siteId - b.siteId)
      return { ...o, sites, intervals: [...byInterval.values()].sort((a, b) => (BigInt(a.interval) < BigInt(b.interval) ? -1 : 1)) }
    },
    status(): LiveMarketStatus {
      const s = site.status()
      const o = operator.status()
      const counters = Object.fromEntries(Object.entries(s.counters).map(([k, v]) => [k, v + o.counters[k as keyof typeof o.counters]])) as LiveMarketStatus['counters']
      const presence = [...o.presence, ...s.presence.filter((x) => !o.presence.some((y) => y.role === x.role && y.siteId === x.siteId))]
      return {
        ...s,
        role: 'site+operator',
        broker: { url: s.broker.url || o.broker.url, connected: s.broker.connected && o.broker.connected, lastError: s.broker.lastError ?? o.broker.lastError },
        chain: { ...s.chain, reachable: s.chain.reachable && o.chain.reachable, lastError: s.chain.lastError ?? o.chain.lastError },
        counters,
        presence,
        outboxPending: s.outboxPending + o.outboxPending,
      }
    },
    onEvent(listener) {
      const offs = [site.onEvent(listener), operator.onEvent(listener)]
      return () => offs.forEach((off) => off())
    },
  }
}
