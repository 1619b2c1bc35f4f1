// The clearing operator of a live market (issue 15): `gridmesh operator --site FILE` or
// `serve --operator`. It opens the chain and the market (deploying it on the first start),
// joins the community's broker with the operator key (signed presence, last will), checks
// every message against the on-chain registry, and on the chain's clock, per interval:
// closes the gate, clears, records its decision, publishes the signed clearing and commits
// it through the persistent outbox as a marketStep that also carries the settlement of an
// earlier interval and the finalizations whose dispute window has passed; an interval
// nobody's commit carries is settled (all readings in, or the missing ones absent once
// the contract allows it), finalized or expired by a transaction of its own at the next
// gate. Every decision is on disk before it is published or queued, and every transaction
// goes through the outbox: after a kill -9 or an RPC outage nothing is sent twice or lost.
import { join } from 'node:path'
import type { Hex } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../chain/buildFinalization.ts'
import { committedSiteRefs } from '../chain/committedSiteRefs.ts'
import { createOutbox, type OutboxEntry } from '../chain/createOutbox.ts'
import { encodeMarketCall, type MarketCall } from '../chain/encodeMarketCall.ts'
import { openChain } from '../chain/openChain.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { clearAuction } from '../market/clearAuction.ts'
import { encodeClearing } from '../market/encodeClearing.ts'
import { connectLiveNode } from '../market/live/connectLiveNode.ts'
import { createChainSiteLookup } from '../market/live/createChainSiteLookup.ts'
import { createLiveInbox } from '../market/live/createLiveInbox.ts'
import { createLiveOperator } from '../market/live/createLiveOperator.ts'
import { createLiveValidator } from '../market/live/createLiveValidator.ts'
import type { LiveMessage } from '../market/live/liveMessageSchema.ts'
import type { LiveMarketView } from '../market/live/liveMarketView.ts'
import { marketTopics } from '../market/live/marketTopics.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'
import { createChainClock } from './createChainClock.ts'
import { createOperatorStore, type OperatorInterval, type SettleAttempt } from './createOperatorStore.ts'
import { createOperatorView } from './createOperatorView.ts'
import { gateClosesAt } from './gateClosesAt.ts'
import { openOperatorMarket } from './openOperatorMarket.ts'
import { TradingError } from './TradingError.ts'

export type StartLiveOperatorParameters = {
  site: SiteFile
  /** the operator's data folder: chain/ (market.json, the embedded chain), keys/, operator/ (its decisions, the outbox, ledger.json) */
  dataDir: string
  /** the site file's folder: the broker's TLS files are relative to it */
  siteFileDir?: string
  /** the wall clock (ms); the operator works on the chain's clock, read from it and the latest block */
  now?: () => number
  log?: (m: string) => void
  /** how often the operator looks at the clock, the outbox and the chain (default 1000 ms) */
  tickMs?: number
  /** default: GRIDMESH_KEYSTORE_PASSPHRASE */
  passphrase?: string
  /** how long the first connection to the broker may take (default connectMqtt's 15 s) */
  connectTimeoutMs?: number
}

type ClearingMessage = Extract<LiveMessage, { kind: 'clearing' }>

const openStatus = (e: OutboxEntry | undefined) => e !== undefined && (e.status === 'pending' || e.status === 'signed')

/** Starts the operator; resolves once it runs (market open, broker joined). */
export async function startLiveOperator(p: StartLiveOperatorParameters): Promise<{ view: LiveMarketView; stop(): Promise<void>; market: `0x${string}` }> {
  const log = p.log ?? (() => {})
  const wallMs = p.now ?? Date.now
  const tickMs = p.tickMs ?? 1_000
  const settings = p.site.market
  if (!settings) throw new TradingError("site file: market: missing; expected the market section (chain, broker) of the community this operator clears")
  const broker = settings.broker
  if (!broker) throw new TradingError('site file: market.broker: missing; expected the broker (url, credentials, TLS files) the operator publishes clearings on')
  const chain = await openChain({ chain: settings.chain, dataDir: p.dataDir })
  for (const note of chain.notes) log(note)
  const cleanup: (() => Promise<void> | void)[] = [() => chain.stop()]
  const unwind = async () => {
    for (const f of cleanup.reverse()) await Promise.resolve(f()).catch(() => {})
  }
  try {
    const lm = await openOperatorMarket({ chain, settings, dataDir: p.dataDir, passphrase: p.passphrase })
    for (const note of lm.notes) log(note)
    log(`operator ${lm.operator.address} of market ${lm.market} (token ${lm.token}) on chain ${chain.chainId} at ${redactRpcUrl(chain.rpcUrl)}; recorded in ${lm.recordPath}`)
    const { config } = lm
    const clock = createChainClock({ client: lm.client, nowMs: wallMs })
    await clock.sample()
    const topics = marketTopics(chain.chainId, lm.market)
    const lookupSite = createChainSiteLookup({ client: lm.client, market: lm.market })
    const validator = createLiveValidator({
      domain: lm.domain,
      topics,
      operator: lm.operator.address,
      lookupSite,
      readingDeadline: (i) => lm.intervalStart(i + 1n) + config.settleWindowSec,
      nowS: () => clock.nowS(),
    })
    const store = createOperatorStore(join(p.dataDir, 'operator'))
    cleanup.push(() => void store.close())
    const outbox = createOutbox({ path: join(p.dataDir, 'operator', 'outbox.db'), client: lm.client, account: lm.operator, chainId: chain.chainId, abi: energyMarketAbi })
    cleanup.push(() => void outbox.close())
    const node = await connectLiveNode({
      broker,
      ...(p.siteFileDir === undefined ? {} : { baseDir: p.siteFileDir }),
      ...(p.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: p.connectTimeoutMs }),
      topics,
      domain: lm.domain,
      siteId: null,
      presenceKey: lm.operator,
    })
    cleanup.push(() => node.close())
    log(`operator joined ${redactRpcUrl(broker.url)} as '${topics.username(null)}' (community ${topics.community})`)
    const inbox = createLiveInbox({ transport: node.transport, validator })
    const view = createOperatorView({
      lm,
      chain,
      store,
      validator,
      lookupSite,
      community: topics.community,
      brokerUrl: broker.url,
      transport: node.transport,
      outboxPending: () => outbox.list().filter(openStatus).length,
      ledgerFile: join(p.dataDir, 'operator', 'ledger.json'),
      nowMs: () => clock.nowMs(),
    })
    const emit = view.emit
    // what the operator accepted is kept before anything is decided on it: acknowledged messages are not delivered again after a restart
    inbox.onVerdict((v) => {
      if (v.ok && (v.message.kind === 'order' || v.message.kind === 'reading')) {
        store.keep(v.message)
        emit(v.message.kind, v.message.body.interval, `${v.message.kind} of site ${v.message.body.siteId} accepted`)
      } else if (!v.ok) {
        const reason = view.noteDrop(v)
        emit('dropped', v.message && v.message.kind !== 'presence' ? v.message.body.interval : null, `${reason}: ${v.detail}`)
      }
    })

    // ---- the outbox: one pass at a time (two passes at once could sign one entry twice) ----
    let outboxChain: Promise<unknown> = Promise.resolve()
    const processOutbox = () => {
      const run = outboxChain.then(async () => {
        const result = await outbox.processOnce()
        view.setChain(result.rpcError)
        return result
      })
      outboxChain = run.catch(() => {})
      return run
    }
    const minedHash = async (entry: OutboxEntry): Promise<Hex> => {
      for (const hash of [...entry.hashes].reverse()) {
        const receipt = await lm.client.getTransactionReceipt({ hash }).catch(() => null)
        if (receipt) return hash
      }
      throw new TradingError(`outbox entry ${entry.key}: confirmed, but none of its transactions has a receipt`)
    }
    const enqueue = (key: string, call: MarketCall) => outbox.enqueue(key, { to: lm.market, data: encodeMarketCall(call) })

    // ---- what is due, from the records and the clock ----
    /** the records that can still have work: older ones are final (the ring reuses their slots) or past every window */
    const openRecords = () => store.list((clock.nowS() - config.genesis) / config.intervalSec - 2n * config.ringSize - 4n)
    const absentAllowedAt = (i: bigint) => lm.intervalStart(i) + config.intervalSec + config.settleWindowSec / 2n
    const settleAttempts = (records: OperatorInterval[], r: OperatorInterval): SettleAttempt[] => [
      ...records.flatMap((c) => (c.commit?.carries.settle?.interval === r.interval ? [{ key: c.commit.key, readings: c.commit.carries.settle.readings }] : [])),
      ...r.settles,
    ]
    const finalizeAttempts = (records: OperatorInterval[], r: OperatorInterval): string[] => [
      ...records.flatMap((c) => (c.commit?.carries.finals.includes(r.interval) ? [c.commit.key] : [])),
      ...r.finalizes,
    ]
    const readingsFor = (r: OperatorInterval): (SignedMeterReading | null)[] => {
      const got = store.readings(r.interval)
      return r.commit!.encoded.siteIds.map((id) => got.find((x) => x.siteId === id) ?? null)
    }
    /**
     * Committed intervals ready to settle now (all readings in, or the contract takes the missing
     * ones as absent), and settled ones past their dispute window. Whether a window has passed is
     * judged by the earliest time the next block can have (clock.nextBlockS), not by the clock,
     * which may run ahead of every block (the demo moves its chain in 15 simulated seconds'
     * steps at 60x): one finalization or settlement sent too early reverts the whole step that
     * carries it, commit and all.
     */
    const due = (records: OperatorInterval[]) => {
      const nowS = clock.nowS()
      const blockS = clock.nextBlockS() ?? 0n
      const live = records.filter((r) => r.commit && r.siteRefs && !r.expired && !r.finalizeTx)
      const settle = live.flatMap((r) => {
        if (r.settled || blockS < lm.intervalStart(r.interval + 1n) || settleAttempts(records, r).some((a) => openStatus(outbox.get(a.key)))) return []
        if (nowS >= lm.intervalStart(r.interval + 1n) + config.settleWindowSec + 2n) return []
        const readings = readingsFor(r)
        return readings.every((x) => x !== null) || blockS >= absentAllowedAt(r.interval) ? [{ record: r, readings }] : []
      })
      const expire = live.filter((r) => !r.settled && nowS >= lm.intervalStart(r.interval + 1n) + config.settleWindowSec + 2n && !openStatus(outbox.get(`expire:${lm.market}:${r.interval}`)))
      const finals = live.filter((r) => r.settled && blockS >= r.settled.atS + config.disputeWindowSec && !finalizeAttempts(records, r).some((k) => openStatus(outbox.get(k))))
      return { settle, expire, finals }
    }
    const finalizationOf = (r: OperatorInterval) =>
      buildFinalization({ clearing: r.commit!.encoded, siteRefs: r.siteRefs!, readings: r.settled!.readings, penaltyBps: config.penaltyBps })

    /** Sends what no step carries: settlements, finalizations and expiries, each its own transaction. */
    const sendStandalone = (work: ReturnType<typeof due>) => {
      for (const { record, readings } of work.settle) {
        const key = `settle:${lm.market}:${record.interval}:${record.settles.length}`
        store.put({ ...store.get(record.interval)!, settles: [...record.settles, { key, readings }] })
        enqueue(key, { kind: 'settle', clearing: record.commit!.encoded, siteRefs: record.siteRefs!, readings })
        emit('settle', record.interval, `settlement queued (${readings.filter((x) => x === null).length} absent of ${readings.length})`)
      }
      for (const record of work.finals) {
        const key = `finalize:${lm.market}:${record.interval}:${record.finalizes.length}`
        store.put({ ...store.get(record.interval)!, finalizes: [...record.finalizes, key] })
        enqueue(key, { kind: 'finalize', finalization: finalizationOf(record) })
        emit('finalize', record.interval, 'finalization queued')
      }
      for (const record of work.expire) {
        enqueue(`expire:${lm.market}:${record.interval}`, { kind: 'expire', clearing: record.commit!.encoded, siteRefs: record.siteRefs! })
        emit('settle', record.interval, 'nobody settled within the settle window: expiry queued (settles as committed)')
      }
    }

    // ---- the gate ----
    const liveOperator = (interval: bigint) => {
      let recorded: OperatorInterval | null = null
      return createLiveOperator({
        // the orders kept on disk count too: after a restart the inbox lacks those acknowledged before the kill
        inbox: { ...inbox, orders: (i: bigint) => store.orders(i) },
        operator: lm.operator,
        domain: lm.domain,
        publish: async (m) => {
          if (m.kind !== 'clearing' || m.body.interval !== interval) return node.publish(m)
          // the decision is on disk and its commit queued before the signed clearing leaves
          const orders = store.orders(interval)
          const clearing = clearAuction(interval, orders)
          let commit: OperatorInterval['commit'] = null
          if (clearing.price !== null) {
            const records = openRecords()
            const work = due(records)
            const carried = work.settle[0] ?? null
            const encoded = encodeClearing(clearing, orders)
            const finals = work.finals.map(finalizationOf)
            const call: MarketCall = {
              kind: 'step',
              finals,
              settle: carried ? { clearing: carried.record.commit!.encoded, siteRefs: carried.record.siteRefs!, readings: carried.readings } : { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] },
              commit: encoded,
              penaltyBps: config.penaltyBps,
            }
            const step = { key: `step:${lm.market}:${interval}`, data: encodeMarketCall(call), encoded, carries: { settle: carried && { interval: carried.record.interval, readings: carried.readings }, finals: work.finals.map((r) => r.interval) } }
            commit = step
            recorded = { interval, orders, clearing, clearingMessage: m, commit, siteRefs: null, commitTx: null, commitFailed: null, settles: [], settled: null, finalizes: [], finalizeTx: null, expired: false }
            store.put(recorded)
            outbox.enqueue(step.key, { to: lm.market, data: step.data })
            sendStandalone({ settle: work.settle.slice(1), finals: [], expire: work.expire })
          } else {
            recorded = { interval, orders, clearing, clearingMessage: m, commit: null, siteRefs: null, commitTx: null, commitFailed: null, settles: [], settled: null, finalizes: [], finalizeTx: null, expired: false }
            store.put(recorded)
            sendStandalone(due(openRecords()))
          }
          view.closedGate(interval)
          emit('clearing', interval, clearing.price === null ? `${orders.length} orders, no trade` : `${orders.length} orders, price ${clearing.price}, ${clearing.tradedWh} Wh in ${clearing.matches.length} trades`)
          await publishClearing(m)
        },
        commit: async () => waitSigned(recorded!),
      })
    }
    const publishClearing = async (m: ClearingMessage) => {
      try {
        await node.publish(m)
      } catch (error) {
        // the broker is gone: the commit still goes out, and the sites sit the interval out (issue 15, "Faults")
        emit('error', m.body.interval, `clearing not published: ${error instanceof Error ? error.message : String(error)}`)
      }
    }
    /** Processes the outbox until the commit is signed (its hash), refused, or too late. */
    const waitSigned = async (r: OperatorInterval): Promise<Hex> => {
      for (;;) {
        await processOutbox().catch(() => {})
        const entry = outbox.get(r.commit!.key)!
        if (entry.hashes.length) {
          emit('commit', r.interval, `commit sent${r.commit!.carries.settle ? `, carrying the settlement of ${r.commit!.carries.settle.interval}` : ''}${r.commit!.carries.finals.length ? ` and ${r.commit!.carries.finals.length} finalizations` : ''}`, entry.hashes[entry.hashes.length - 1])
          return entry.hashes[entry.hashes.length - 1]!
        }
        if (!openStatus(entry)) throw new TradingError(`interval ${r.interval}: commit ${entry.status}: ${entry.error ?? ''}`)
        if (clock.nowS() >= lm.intervalStart(r.interval)) throw new TradingError(`interval ${r.interval}: commit not sent before the interval started (${entry.error ?? 'the chain was unreachable'}); it stays queued and the contract will refuse it`)
        await new Promise((resolve) => setTimeout(resolve, tickMs))
      }
    }
    const gating = new Map<bigint, Promise<void>>()
    const closeGate = (interval: bigint) => {
      const existing = store.get(interval)
      const work = existing
        ? (async () => {
            // a restart after the decision: the same clearing again, the same queued commit; later orders are late
            validator.acceptFrom('order', interval + 1n)
            if (existing.commit) outbox.enqueue(existing.commit.key, { to: lm.market, data: existing.commit.data })
            view.closedGate(interval)
            await publishClearing(existing.clearingMessage)
          })()
        : liveOperator(interval)
            .closeGate(interval, lm.intervalStart(interval))
            .then(() => {})
      gating.set(
        interval,
        work.catch((error: unknown) => emit('error', interval, error instanceof Error ? error.message : String(error))).finally(() => gating.delete(interval)),
      )
    }

    // ---- what the chain says happened ----
    const syncChain = async () => {
      const records = openRecords()
      for (const r of records) {
        if (r.commit && !r.siteRefs && !r.commitFailed) {
          const entry = outbox.get(r.commit.key)
          if (entry?.status === 'confirmed') {
            const hash = await minedHash(entry)
            const receipt = await lm.client.getTransactionReceipt({ hash })
            const siteRefs = await committedSiteRefs(lm.client, lm.market, r.commit.encoded, receipt)
            store.put({ ...store.get(r.interval)!, siteRefs, commitTx: hash })
            emit('commit', r.interval, `committed in block ${receipt.blockNumber} (${receipt.gasUsed} gas)`, hash)
          } else if (entry && !openStatus(entry)) {
            store.put({ ...store.get(r.interval)!, commitFailed: `${entry.status}: ${entry.error ?? ''}` })
            emit('error', r.interval, `commit ${entry.status}: ${entry.error ?? ''}; the interval has no trades`)
          }
        }
      }
      for (const r of openRecords()) {
        if (!r.siteRefs || r.finalizeTx || r.expired) continue
        if (!r.settled) {
          for (const a of settleAttempts(records, r)) {
            const entry = outbox.get(a.key)
            if (entry?.status !== 'confirmed') continue
            const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [r.interval] })
            if (settledAt === 0n) continue
            const tx = await minedHash(entry)
            store.put({ ...store.get(r.interval)!, settled: { key: a.key, readings: a.readings, tx, atS: settledAt } })
            emit('settle', r.interval, `settled (${a.readings.filter((x) => x === null).length} readings absent)`, tx)
            break
          }
          const expiry = outbox.get(`expire:${lm.market}:${r.interval}`)
          if (expiry?.status === 'confirmed') {
            store.put({ ...store.get(r.interval)!, expired: true, finalizeTx: await minedHash(expiry) })
            emit('finalize', r.interval, 'expired: settled as committed, final')
          }
        } else {
          for (const key of finalizeAttempts(records, r)) {
            const entry = outbox.get(key)
            if (entry?.status !== 'confirmed') continue
            const tx = await minedHash(entry)
            store.put({ ...store.get(r.interval)!, finalizeTx: tx })
            emit('finalize', r.interval, 'finalized', tx)
            break
          }
        }
      }
    }

    // ---- the loop ----
    const doneGates = new Set<bigint>()
    let lastStandaloneGate = -1n
    const tick = async () => {
      try {
        await clock.sample()
      } catch (error) {
        view.setChain(error instanceof Error ? error.message : String(error))
      }
      const nowS = clock.nowS()
      const next = (nowS - config.genesis) / config.intervalSec + 1n
      const gateS = gateClosesAt(lm.intervalStart(next), config.intervalSec)
      view.setCurrent(next, Number(gateS) * 1000)
      if (nowS >= gateS && !doneGates.has(next)) {
        doneGates.add(next)
        closeGate(next)
      }
      const result = await processOutbox().catch(() => null)
      if (result && result.rpcError === null) {
        await syncChain()
        // what no commit carried goes out once per gate (also when the chain was down at the gate itself)
        if (nowS >= gateS && lastStandaloneGate < next && !gating.has(next)) {
          lastStandaloneGate = next
          sendStandalone(due(openRecords()))
        }
        await view.refresh()
      }
    }
    let stopped = false
    let running: Promise<void> = Promise.resolve()
    let timer: NodeJS.Timeout | undefined
    const loop = () => {
      running = tick()
        .catch((error: unknown) => emit('error', null, error instanceof Error ? error.message : String(error)))
        .finally(() => {
          if (!stopped) timer = setTimeout(loop, tickMs)
        })
    }
    loop()
    return {
      view,
      market: lm.market,
      async stop() {
        stopped = true
        clearTimeout(timer)
        await running
        await Promise.all([...gating.values()])
        await unwind()
      },
    }
  } catch (error) {
    await unwind()
    throw error
  }
}
