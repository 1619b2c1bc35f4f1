// What the operator shows core/api (LiveMarketView, role 'operator'): every interval it
// cleared (orders, clearing, trades, readings, settlement state with the commit, settle and
// finalize transactions), the sites' balances read from the chain, its link state, the
// validator's drop counters and the peers' presence; the ledger is also written to
// <data>/operator/ledger.json whenever it changes (serve --market-ledger can show it).
import type { Address } from 'viem'
import type { OpenedChain } from '../chain/openChain.ts'
import type { OpenedMarket } from '../chain/openMarket.ts'
import { readEscrow } from '../chain/readEscrow.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import type { MqttTransport } from '../market/live/connectMqtt.ts'
import type { LiveValidator, LiveVerdict, SiteLookup } from '../market/live/createLiveValidator.ts'
import type { LiveMarketEvent, LiveMarketEventKind, LiveMarketStatus, LiveMarketView } from '../market/live/liveMarketView.ts'
import { clearingLocks } from '../market/computeSettlement.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import { toLedgerInterval } from '../market/toLedgerInterval.ts'
import { writeMarketLedger } from '../market/writeMarketLedger.ts'
import type { OperatorStore } from './createOperatorStore.ts'

export type CreateOperatorViewParameters = {
  lm: Pick<OpenedMarket, 'client' | 'market' | 'token' | 'config' | 'intervalStart'>
  chain: Pick<OpenedChain, 'rpcUrl' | 'chainId' | 'embedded'>
  store: Pick<OperatorStore, 'list' | 'readings'>
  /** how many of the newest intervals the ledger shows (default 96: a day of 15-minute intervals) */
  ledgerIntervals?: number
  validator: Pick<LiveValidator, 'counters' | 'presence'>
  lookupSite: SiteLookup
  community: string
  brokerUrl: string
  transport: Pick<MqttTransport, 'connected'>
  outboxPending: () => number
  /** written whenever the ledger changes; none when omitted */
  ledgerFile?: string
  nowMs: () => number
}

/** The operator's LiveMarketView, and the hooks startLiveOperator feeds it through. */
export function createOperatorView(p: CreateOperatorViewParameters) {
  const listeners = new Set<(e: LiveMarketEvent) => void>()
  const closed = new Set<bigint>()
  let lateAfterGate = 0
  let chainError: string | null = null
  let brokerError: string | null = null
  let current: { interval: bigint; gateMs: number } | null = null
  const sites = new Map<number, { owner: Address; meter: Address }>()
  const balances = new Map<number, { before: bigint; after: bigint }>()
  const seen = new Map<string, { online: boolean; epoch: bigint; seenAtMs: number }>()
  let lastWritten = ''
  let balancesReadAtMs = -Infinity
  let refreshedAtRealMs = -Infinity

  const emit = (kind: LiveMarketEventKind, interval: bigint | null, detail: string, tx?: `0x${string}`) => {
    if (kind === 'error' && interval === null) brokerError = detail
    const event: LiveMarketEvent = { type: 'market', kind, interval: interval === null ? null : interval.toString(), atMs: Math.floor(p.nowMs()), detail, ...(tx ? { tx } : {}) }
    for (const listener of listeners) listener(event)
  }

  /** What committed intervals not yet final hold out of each site's free balance: every lock of a mined commit until its finalization (or expiry). */
  const lockedBySite = (records: ReturnType<OperatorStore['list']>) => {
    const locked = new Map<number, bigint>()
    for (const r of records) {
      if (!r.commit || !r.commitTx || r.commitFailed || r.finalizeTx || r.expired) continue
      for (const [id, lock] of clearingLocks(r.clearing, p.lm.config.penaltyBps)) locked.set(id, (locked.get(id) ?? 0n) + lock)
    }
    return locked
  }

  const ledger = (): MarketLedger => {
    const { config } = p.lm
    const newest = (p.nowMs() / 1000 - Number(config.genesis)) / Number(config.intervalSec)
    const records = p.store.list(BigInt(Math.max(0, Math.floor(newest) - (p.ledgerIntervals ?? 96))))
    const locked = lockedBySite(records)
    const intervals = records.map((r) => {
      const startMs = Number(p.lm.intervalStart(r.interval)) * 1000
      const entry = toLedgerInterval({
        interval: r.interval,
        startMs,
        endMs: startMs + Number(config.intervalSec) * 1000,
        orders: r.orders,
        // a commit the chain refused leaves no trades
        clearing: r.commitFailed ? { ...r.clearing, price: null, matches: [], tradedWh: 0 } : r.clearing,
        readings: p.store.readings(r.interval),
        commitTx: r.commitTx,
        settleTx: r.settled?.tx ?? null,
        disputeWindowEndsAtMs: r.settled ? Number(r.settled.atS + config.disputeWindowSec) * 1000 : null,
      })
      if (r.finalizeTx) entry.settlement = { ...entry.settlement, state: 'finalized', finalizeTx: r.finalizeTx }
      return entry
    })
    return {
      version: 1,
      source: 'live',
      writtenAtMs: Math.floor(p.nowMs()),
      chain: { rpcUrl: redactRpcUrl(p.chain.rpcUrl), chainId: p.chain.chainId, embedded: p.chain.embedded, market: p.lm.market, token: p.lm.token },
      intervalSec: Number(config.intervalSec),
      disputeWindowSec: Number(config.disputeWindowSec),
      sites: [...sites].sort(([a], [b]) => a - b).map(([siteId, k]) => ({ siteId, ...k })),
      intervals,
      balances: [...balances].sort(([a], [b]) => a - b).map(([siteId, b]) => ({ siteId, before: b.before.toString(), after: b.after.toString(), locked: (locked.get(siteId) ?? 0n).toString() })),
    }
  }

  const status = (): LiveMarketStatus => {
    const counters = p.validator.counters()
    const presence = Object.entries(p.validator.presence()).map(([node, v]) => {
      const last = seen.get(node)
      const seenAtMs = last && last.epoch === v.epoch && last.online === v.online ? last.seenAtMs : Math.floor(p.nowMs())
      seen.set(node, { ...v, seenAtMs })
      return { role: node === 'operator' ? ('operator' as const) : ('site' as const), siteId: node === 'operator' ? 0 : Number(node.slice('site-'.length)), online: v.online, epoch: v.epoch.toString(), seenAtMs }
    })
    return {
      role: 'operator',
      siteId: null,
      community: p.community,
      broker: { url: redactRpcUrl(p.brokerUrl), connected: p.transport.connected, lastError: brokerError },
      chain: { rpcUrl: redactRpcUrl(p.chain.rpcUrl), chainId: p.chain.chainId, reachable: chainError === null, lastError: chainError },
      // an order for an interval whose gate this operator closed arrived after the gate: late, not a replay
      counters: { ...counters, replayed: counters.replayed - lateAfterGate, late: counters.late + lateAfterGate },
      presence,
      outboxPending: p.outboxPending(),
      currentInterval: current ? current.interval.toString() : null,
      gateClosesAtMs: current ? current.gateMs : null,
    }
  }

  const view: LiveMarketView = {
    ledger,
    status,
    onEvent(listener) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
  return {
    ...view,
    emit,
    /** the gate of `interval` closed: orders for it that arrive later are late */
    closedGate: (interval: bigint) => void closed.add(interval),
    /** Counts a drop; returns its reason as the status counts it (an order after its gate is late, not a replay). */
    noteDrop(v: Extract<LiveVerdict, { ok: false }>): string {
      if (v.reason === 'replayed' && v.message?.kind === 'order' && closed.has(v.message.body.interval)) {
        lateAfterGate++
        return 'late'
      }
      return v.reason
    },
    /** the last chain call's error, null when it reached the chain */
    setChain(error: string | null) {
      if (error !== chainError && error !== null) emit('error', null, `chain: ${error}`)
      chainError = error
    },
    setCurrent(interval: bigint, gateMs: number) {
      current = { interval, gateMs }
    },
    /** Reads the traders' registry keys and balances from the chain and rewrites the ledger file when it changed. */
    async refresh() {
      // Building the ledger walks up to 96 intervals of every site's orders: at 32 sites that
      // was ~21 ms of the operator's CPU every 1 s tick (bench/market-live). Every 5 real seconds
      // is enough for the file and the balances; GET /api/market builds its own on request.
      const realMs = performance.now()
      if (realMs - refreshedAtRealMs < 5_000) return
      refreshedAtRealMs = realMs
      const ids = new Set(ledger().intervals.flatMap((r) => r.orders.map((o) => o.siteId)))
      // the balances change with the interval's transactions: read every 5 s at most, and at once for a site not seen yet
      const readBalances = p.nowMs() - balancesReadAtMs >= 5_000 || [...ids].some((id) => !balances.has(id))
      if (readBalances) balancesReadAtMs = p.nowMs()
      for (const siteId of readBalances ? ids : []) {
        if (!sites.has(siteId)) {
          const keys = await p.lookupSite(siteId)
          if (keys) sites.set(siteId, { owner: keys.owner, meter: keys.meterKey })
        }
        const escrow = await readEscrow(p.lm.client, p.lm.market, siteId)
        balances.set(siteId, { before: balances.get(siteId)?.before ?? escrow, after: escrow })
      }
      if (!p.ledgerFile) return
      const next = ledger()
      const text = JSON.stringify({ ...next, writtenAtMs: 0 })
      if (text === lastWritten) return
      writeMarketLedger(p.ledgerFile, next)
      lastWritten = text
    },
  }
}
