// What a live market node (a trading `serve`, the operator, or both in one process) shows
// the API and the HMI (issue 15, "API and HMI"): the ledger the market view already draws,
// this node's link state, the validator's drop counters and the peers' presence, and one
// event per step of an interval for the WebSocket. core/trading implements it; core/api
// serves it at GET /api/market and as `market` events on /api/ws.
import type { MarketLedger } from '../marketLedgerSchema.ts'
import type { LiveCounters } from './createLiveValidator.ts'

export type LiveMarketStatus = {
  /** what this process does in the community */
  role: 'site' | 'operator' | 'site+operator'
  /** this site's registry id (null for an operator that is not a site) */
  siteId: number | null
  /** `<chainId>-<market address>` (marketTopics) */
  community: string
  /** the broker's URL with any credentials removed */
  broker: { url: string; connected: boolean; lastError: string | null }
  /** the chain's RPC URL (redactRpcUrl) and whether the last call reached it */
  chain: { rpcUrl: string; chainId: number; reachable: boolean; lastError: string | null }
  /** messages accepted and dropped by reason since this process started (createLiveValidator.counters()) */
  counters: LiveCounters
  /** every node whose signed presence this node has seen */
  presence: { role: 'site' | 'operator'; siteId: number; online: boolean; epoch: string; seenAtMs: number }[]
  /** chain transactions waiting in the outbox (RPC down: they go out once it is back, exactly once) */
  outboxPending: number
  /** the interval this node is working on, and when its gate closes (ms) */
  currentInterval: string | null
  gateClosesAtMs: number | null
}

export type LiveMarketEventKind =
  | 'order' // this site signed and published its order, or the operator accepted one
  | 'sat-out' // this site missed the gate (or had nothing to trade) and runs its local plan
  | 'clearing' // the operator's clearing arrived / was published
  | 'check' // this site's recomputation agrees, or differs (detail says why; a proof follows)
  | 'commit' // the clearing's commit transaction was sent or mined
  | 'reading' // this site signed and published its meter reading (or re-published it)
  | 'settle' // the interval's settlement transaction
  | 'finalize' // the interval was finalized after its dispute window
  | 'dropped' // the validator dropped a message (detail: reason and what)
  | 'presence' // a peer went online or offline
  | 'error' // a broker or chain failure (the site keeps controlling its hardware)

export type LiveMarketEvent = {
  type: 'market'
  kind: LiveMarketEventKind
  /** decimal string; null for events not tied to an interval (presence, broker errors) */
  interval: string | null
  atMs: number
  /** one line for the HMI's event list */
  detail: string
  /** transaction hash when the event is one */
  tx?: `0x${string}` | undefined
}

/** What core/api needs of a live market node. */
export type LiveMarketView = {
  /** the intervals this node took part in (or cleared), newest last; `source: 'live'` */
  ledger(): MarketLedger
  status(): LiveMarketStatus
  /** subscribe; returns the unsubscribe function */
  onEvent(listener: (event: LiveMarketEvent) => void): () => void
}
