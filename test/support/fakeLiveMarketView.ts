import type { LiveMarketEvent, LiveMarketStatus, LiveMarketView } from '../../core/market/live/liveMarketView.ts'
import type { MarketLedger } from '../../core/market/marketLedgerSchema.ts'

// A live market node as core/api sees it (LiveMarketView), from constants around `now`:
// three sites, an interval finalized, one settled inside its dispute window, one committed
// and delivering, and the next one taking orders; the broker up, the chain down; drops of every kind the validator counts.
// `emit` plays the node's events; `status` and `ledger` may be replaced to feed bad values.

const hash = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(32)}` as `0x${string}`
const address = (n: number) => `0x${n.toString(16).padStart(2, '0').repeat(20)}` as `0x${string}`
const sig = (n: number) => ({ r: hash(n), vs: hash(n + 1) })

const slotMs = 900_000
/** The first of the four intervals: two before the one delivering at `nowMs` (k = 2), the one taking orders next (k = 3). */
const firstInterval = (nowMs: number) => Math.floor(nowMs / slotMs) - 2

function interval(k: number, state: 'finalized' | 'settled' | 'committed' | 'open', nowMs: number): MarketLedger['intervals'][number] {
  const startMs = (firstInterval(nowMs) + k) * slotMs
  const committed = state !== 'open'
  const settled = state === 'settled' || state === 'finalized'
  return {
    interval: String(firstInterval(nowMs) + k),
    startMs,
    endMs: startMs + slotMs,
    orders: [
      { siteId: 1, side: 'ask', energyWh: 1200 + 100 * k, limitPrice: '90000', deadline: String((startMs - 60_000) / 1000), signature: sig(10 + k) },
      { siteId: 2, side: 'bid', energyWh: 800, limitPrice: '140000', deadline: String((startMs - 60_000) / 1000), signature: sig(20 + k) },
      { siteId: 3, side: 'bid', energyWh: 600, limitPrice: '120000', deadline: String((startMs - 60_000) / 1000), signature: sig(30 + k) },
    ],
    clearingPrice: committed ? '120000' : null,
    tradedWh: committed ? 1200 + 100 * k : 0,
    trades: committed
      ? [
          { sellerSiteId: 1, buyerSiteId: 2, energyWh: 800 },
          { sellerSiteId: 1, buyerSiteId: 3, energyWh: 400 + 100 * k },
        ]
      : [],
    readings: settled
      ? [
          { siteId: 1, importWh: 0, exportWh: 1250 + 100 * k, signature: sig(40 + k) },
          { siteId: 2, importWh: 810, exportWh: 0, signature: sig(50 + k) },
          { siteId: 3, importWh: 420 + 100 * k, exportWh: 0, signature: sig(60 + k) },
        ]
      : [],
    settlement: {
      state: state === 'finalized' ? 'finalized' : state === 'settled' ? 'settled' : 'no-trade',
      commitTx: committed ? hash(0x70 + k) : null,
      settleTx: settled ? hash(0x80 + k) : null,
      finalizeTx: state === 'finalized' ? hash(0x90 + k) : null,
      disputeWindowEndsAtMs: settled ? (state === 'finalized' ? nowMs - 60_000 : nowMs + 600_000) : null,
    },
  }
}

/** The node's ledger at `nowMs`: four intervals, newest last. */
export function fakeLiveLedger(nowMs: number): MarketLedger {
  return {
    version: 1,
    source: 'live',
    writtenAtMs: nowMs,
    chain: { rpcUrl: 'https://rpc-user:rpc-secret@chain.example:8545/?apikey=k3y', chainId: 31337, embedded: false, market: address(0xaa), token: address(0xbb) },
    intervalSec: 900,
    disputeWindowSec: 600,
    sites: [1, 2, 3].map((siteId) => ({ siteId, owner: address(siteId), meter: address(0x10 + siteId) })),
    intervals: [interval(0, 'finalized', nowMs), interval(1, 'settled', nowMs), interval(2, 'committed', nowMs), interval(3, 'open', nowMs)],
    balances: [
      { siteId: 1, before: '100000000', after: '100144000', locked: '36000' },
      { siteId: 2, before: '100000000', after: '99664000', locked: '240000' },
      { siteId: 3, before: '100000000', after: '99652000', locked: '240000' },
    ],
  }
}

/** The node's state at `nowMs`: broker up, chain down with its error, one peer offline. */
export function fakeLiveStatus(nowMs: number): LiveMarketStatus {
  return {
    role: 'site+operator',
    siteId: 1,
    community: `31337-${address(0xaa)}`,
    broker: { url: 'mqtts://site-1:broker-secret@broker.example:8883', connected: true, lastError: null },
    chain: { rpcUrl: 'https://rpc-user:rpc-secret@chain.example:8545/?apikey=k3y', chainId: 31337, reachable: false, lastError: 'fetch failed: connect ECONNREFUSED https://rpc-user:rpc-secret@chain.example:8545' },
    counters: { accepted: 412, oversized: 1, malformed: 2, replayed: 5, duplicate: 7, late: 3, forged: 11, conflicting: 0, unverified: 4 },
    presence: [
      { role: 'operator', siteId: 1, online: true, epoch: '1764669600', seenAtMs: nowMs - 3_600_000 },
      { role: 'site', siteId: 2, online: true, epoch: '1764669601', seenAtMs: nowMs - 1_800_000 },
      { role: 'site', siteId: 3, online: false, epoch: '1764669602', seenAtMs: nowMs - 240_000 },
    ],
    outboxPending: 2,
    currentInterval: String(firstInterval(nowMs) + 3),
    gateClosesAtMs: (firstInterval(nowMs) + 3) * slotMs - 60_000,
  }
}

export type FakeLiveMarketView = LiveMarketView & {
  emit(event: LiveMarketEvent): void
  listenerCount(): number
  /** Replace what the node answers (a bad value, a throw). */
  answer: { ledger: () => unknown; status: () => unknown }
}

export function createFakeLiveMarketView(now: () => number = Date.now): FakeLiveMarketView {
  const listeners = new Set<(event: LiveMarketEvent) => void>()
  const answer = { ledger: (): unknown => fakeLiveLedger(now()), status: (): unknown => fakeLiveStatus(now()) }
  return {
    answer,
    ledger: () => answer.ledger() as MarketLedger,
    status: () => answer.status() as LiveMarketStatus,
    onEvent(listener) {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    emit: (event) => listeners.forEach((l) => l(event)),
    listenerCount: () => listeners.size,
  }
}
