import type { Address, Hex } from 'viem'
import type { Clearing } from '../market/clearAuction.ts'
import type { LiveCounters } from '../market/live/createLiveValidator.ts'
import type { LiveMarketEvent, LiveMarketEventKind, LiveMarketStatus, LiveMarketView } from '../market/live/liveMarketView.ts'
import { clearingLocks } from '../market/computeSettlement.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import type { SignedMeterReading, SignedOrder } from '../market/signMarketData.ts'
import { toLedgerInterval } from '../market/toLedgerInterval.ts'

/** What this site knows of one interval it took part in. */
export type SiteInterval = {
  interval: bigint
  startMs: number
  endMs: number
  /** the orders this site accepted from the broker (its own among them) */
  orders: SignedOrder[]
  clearing: Clearing | null
  reading: SignedMeterReading | null
  commitTx: Hex | null
  settleTx: Hex | null
  finalizeTx: Hex | null
  disputeWindowEndsAtMs: number | null
  /** this site's recomputation of the clearing from the orders it saw (null: no clearing checked yet) */
  check: { agrees: boolean; detail: string } | null
  /** settled, voided or final on chain: readings are no longer re-sent */
  closed: boolean
  /** final on chain (its finalization transaction may still be looked up) */
  final: boolean
  /** final with its transaction found, voided, or never committed: no longer followed on chain */
  done: boolean
}

const zeroAddress: Address = '0x0000000000000000000000000000000000000000'
const noCounters: LiveCounters = { accepted: 0, oversized: 0, malformed: 0, replayed: 0, duplicate: 0, late: 0, forged: 0, conflicting: 0, unverified: 0 }

export type CreateLiveSiteViewParameters = {
  siteId: number
  brokerUrl: string
  now: () => number
  /** intervals kept for the ledger (default 96) */
  keep?: number
}

/**
 * The LiveMarketView of a trading site: the ledger of the intervals it took part in, its
 * link state and counters, the peers' presence, and one event per step. startLiveSite
 * fills it in as the intervals go by; it holds no chain or broker handles itself.
 */
export function createLiveSiteView(p: CreateLiveSiteViewParameters) {
  const keep = p.keep ?? 96
  const intervals = new Map<bigint, SiteInterval>()
  const listeners = new Set<(event: LiveMarketEvent) => void>()
  const presence = new Map<string, LiveMarketStatus['presence'][number]>()
  let market: { chainId: number; rpcUrl: string; embedded: boolean; market: Address; token: Address; intervalSec: number; disputeWindowSec: number; penaltyBps: bigint; community: string } | null = null
  /** this site's escrow (free balance plus bond) when first read and now */
  let balance: { before: bigint; after: bigint } | null = null
  let sites: MarketLedger['sites'] = []
  let counters: () => LiveCounters = () => noCounters
  let outboxPending: () => number = () => 0
  const broker = { url: p.brokerUrl, connected: false, lastError: null as string | null }
  const chain = { reachable: false, lastError: null as string | null }
  let current: { interval: bigint; gateClosesAtMs: number } | null = null

  const view: LiveMarketView = {
    ledger(): MarketLedger {
      return {
        version: 1,
        source: 'live',
        writtenAtMs: p.now(),
        chain: { rpcUrl: market?.rpcUrl ?? '', chainId: market?.chainId ?? 0, embedded: market?.embedded ?? false, market: market?.market ?? zeroAddress, token: market?.token ?? zeroAddress },
        intervalSec: market?.intervalSec ?? 0,
        disputeWindowSec: market?.disputeWindowSec ?? 0,
        sites,
        intervals: [...intervals.values()]
          .sort((a, b) => (a.interval < b.interval ? -1 : 1))
          .map((i) => {
            const entry = toLedgerInterval({
              interval: i.interval,
              startMs: i.startMs,
              endMs: i.endMs,
              orders: i.orders,
              clearing: i.clearing ?? { interval: i.interval, price: null, matches: [], tradedWh: 0 },
              readings: i.reading ? [i.reading] : [],
              commitTx: i.commitTx,
              settleTx: i.settleTx,
              disputeWindowEndsAtMs: i.disputeWindowEndsAtMs,
            })
            if (i.final) entry.settlement = { ...entry.settlement, state: 'finalized', finalizeTx: i.finalizeTx }
            if (i.check) entry.check = { ...i.check }
            return entry
          }),
        balances: balance ? [{ siteId: p.siteId, before: balance.before.toString(), after: balance.after.toString(), locked: locked().toString() }] : [],
      }
    },
    status(): LiveMarketStatus {
      return {
        role: 'site',
        siteId: p.siteId,
        community: market?.community ?? '',
        broker: { ...broker },
        chain: { rpcUrl: market?.rpcUrl ?? '', chainId: market?.chainId ?? 0, ...chain },
        counters: counters(),
        presence: [...presence.values()].sort((a, b) => (a.role === b.role ? a.siteId - b.siteId : a.role === 'operator' ? -1 : 1)),
        outboxPending: outboxPending(),
        currentInterval: current?.interval.toString() ?? null,
        gateClosesAtMs: current?.gateClosesAtMs ?? null,
      }
    },
    onEvent(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }

  /** What this site's committed clearings not yet final lock out of its free balance (a clearing is committed within a block of its publication). */
  const locked = () =>
    [...intervals.values()].reduce((sum, i) => (i.clearing && i.clearing.price !== null && i.check?.agrees && !i.final && !i.done && market ? sum + (clearingLocks(i.clearing, market.penaltyBps).get(p.siteId) ?? 0n) : sum), 0n)

  return {
    view,
    /** this site's escrow (free balance plus bond) as just read from the chain */
    setBalance(escrow: bigint) {
      balance = { before: balance?.before ?? escrow, after: escrow }
    },
    emit(kind: LiveMarketEventKind, interval: bigint | null, detail: string, tx?: Hex) {
      const event: LiveMarketEvent = { type: 'market', kind, interval: interval?.toString() ?? null, atMs: p.now(), detail, ...(tx ? { tx } : {}) }
      for (const listener of listeners) listener(event)
    },
    connected(m: NonNullable<typeof market>, s: MarketLedger['sites'], sources: { counters: () => LiveCounters; outboxPending: () => number }) {
      market = m
      sites = s
      counters = sources.counters
      outboxPending = sources.outboxPending
    },
    setBroker(connected: boolean, lastError?: string | null) {
      broker.connected = connected
      if (lastError !== undefined) broker.lastError = lastError
    },
    setChain(reachable: boolean, lastError: string | null) {
      chain.reachable = reachable
      chain.lastError = lastError
    },
    setCurrent(interval: bigint | null, gateClosesAtMs: number | null) {
      current = interval === null || gateClosesAtMs === null ? null : { interval, gateClosesAtMs }
    },
    seen(role: 'site' | 'operator', siteId: number, online: boolean, epoch: bigint) {
      presence.set(`${role}-${siteId}`, { role, siteId, online, epoch: epoch.toString(), seenAtMs: p.now() })
    },
    /** The interval's record, created on first use; the oldest beyond `keep` are forgotten. */
    interval(interval: bigint, startMs: number, endMs: number): SiteInterval {
      let entry = intervals.get(interval)
      if (!entry) {
        entry = { interval, startMs, endMs, orders: [], clearing: null, reading: null, commitTx: null, settleTx: null, finalizeTx: null, disputeWindowEndsAtMs: null, check: null, closed: false, final: false, done: false }
        intervals.set(interval, entry)
        for (const old of [...intervals.keys()].sort((a, b) => (a < b ? -1 : 1)).slice(0, Math.max(0, intervals.size - keep))) intervals.delete(old)
      }
      return entry
    },
    intervals: () => [...intervals.values()],
  }
}

export type LiveSiteView = ReturnType<typeof createLiveSiteView>
