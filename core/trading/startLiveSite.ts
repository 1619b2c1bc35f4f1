// A trading `serve` (issue 15): this site in the live market, on real time. It opens the
// community's chain and market, its owner and meter keys, joins the broker, and from then
// on, every interval: places the order its plan implies before gate closure (once, through
// the signing journal), checks the operator's clearing against the orders it saw (a wrong
// one is proven on chain through the outbox), hands what it traded to the control loop, and
// after delivery signs the meter's reading and re-sends it until the interval is settled.
// It also reads every step the operator sends (createStepWatch): a step does not check
// signatures on chain, so a forged order or reading in one is proven here, through the outbox.
// When any of that is missing or fails, the site runs its local plan and says why; the
// connection is retried in the background.
import { join } from 'node:path'
import { encodeFunctionData, type Hex } from 'viem'
import { auctionVerifierAbi, energyMarketAbi } from '../../contracts/abi.ts'
import { openChain, type OpenedChain } from '../chain/openChain.ts'
import { createOutbox } from '../chain/createOutbox.ts'
import { clearingProofCommitment, proveClearingArgs } from '../chain/proveClearing.ts'
import { committedSiteRefs } from '../chain/committedSiteRefs.ts'
import { readEscrow } from '../chain/readEscrow.ts'
import { steppedIntervals } from '../chain/stepMarket.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import type { SiteMarketPort } from '../control/createSiteRuntime.ts'
import type { Tariff } from '../control/timeOfUseTariff.ts'
import type { DeviceDriver } from '../devices/capabilities.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { BaseError } from '../errors/BaseError.ts'
import { encodeClearing, type EncodedClearing } from '../market/encodeClearing.ts'
import { orderDigest } from '../market/live/clearingBody.ts'
import { connectLiveNode, type LiveNode } from '../market/live/connectLiveNode.ts'
import { createChainSiteLookup } from '../market/live/createChainSiteLookup.ts'
import { createLiveInbox } from '../market/live/createLiveInbox.ts'
import { createLiveParticipant } from '../market/live/createLiveParticipant.ts'
import { createLiveValidator } from '../market/live/createLiveValidator.ts'
import { createSigningJournal } from '../market/live/createSigningJournal.ts'
import type { LiveMarketView } from '../market/live/liveMarketView.ts'
import { ROLE_OPERATOR } from '../market/live/liveTypedData.ts'
import { marketTopics } from '../market/live/marketTopics.ts'
import type { SignedOrder } from '../market/signMarketData.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import { siteMarketSchema } from '../site/siteMarketSchema.ts'
import { createLiveSiteView } from './createLiveSiteView.ts'
import { createChainClock } from './createChainClock.ts'
import { createMeterEdges } from './createMeterEdges.ts'
import { gateClosesAt } from './gateClosesAt.ts'
import { createSiteMarketPort, type SiteMarketPortHandle } from './createSiteMarketPort.ts'
import { createStepWatch } from './createStepWatch.ts'
import { openParticipantMarket } from './openParticipantMarket.ts'
import { openSiteKeys } from './openSiteKeys.ts'
import { orderFromPlan } from './orderFromPlan.ts'
import { TradingError } from './TradingError.ts'

export type StartLiveSiteParameters = {
  site: SiteFile
  /** the data folder: the journal (`market/journal/`), meter edges, outbox and key files live here */
  dataDir: string
  /** where broker TLS files are looked up (relative names); default the data folder */
  siteFileDir?: string
  drivers: readonly DeviceDriver[]
  /** the plan in force (its market columns become the orders) */
  plan: () => Plan | null
  /** the site's tariff now (limits its prices) */
  tariff: () => Tariff
  now?: () => number
  log?: (message: string) => void
  /** raises (message) or clears (null) one of the site's alarms: `market:live` (cannot trade), `market:clearing` (a wrong clearing), `market:forgery` (a forged order or reading, or wrong releases, in a step) */
  alarm?: (key: string, message: string | null) => void
  /** default process.env.GRIDMESH_KEYSTORE_PASSPHRASE */
  passphrase?: string
  /** how often the interval steps run (default 1 s) */
  tickMs?: number
  /** how long before gate closure (the interval's start) the order goes out (default 20 % of the interval) */
  orderLeadMs?: number
  /** retries of a failed start: the first after `firstMs`, doubling up to `maxMs` (default 10 s, 5 min) */
  retry?: { firstMs: number; maxMs: number }
  connectTimeoutMs?: number
}

export type LiveSite = { view: LiveMarketView; market: SiteMarketPort; stop(): Promise<void> }

const messageOf = (error: unknown) => (error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error))

/** Starts this site's live trading; resolves after the first attempt to join the market, whether it succeeded or not (it is retried). */
export async function startLiveSite(p: StartLiveSiteParameters): Promise<LiveSite & { connected: () => boolean }> {
  const now = p.now ?? Date.now
  const log = p.log ?? (() => {})
  const alarm = p.alarm ?? (() => {})
  const tickMs = p.tickMs ?? 1_000
  const retry = p.retry ?? { firstMs: 10_000, maxMs: 300_000 }
  const settings = siteMarketSchema.parse(p.site.market ?? {})
  if (!settings.site) throw new TradingError('site file: market.site: missing; startLiveSite is for a site that trades')
  const siteSettings = settings.site
  const siteId = siteSettings.id
  const brokerUrl = settings.broker ? redactRpcUrl(settings.broker.url) : ''
  const view = createLiveSiteView({ siteId, brokerUrl, now })

  /** Everything a joined site holds; null until the first successful start. */
  let live: Awaited<ReturnType<typeof join_>> | null = null
  let port: SiteMarketPortHandle | null = null
  const market: SiteMarketPort = {
    planMarket: (nowMs) => port?.port.planMarket(nowMs) ?? null,
    commitment: (nowMs, plan) => port?.port.commitment(nowMs, plan) ?? null,
  }

  async function join_() {
    if (!settings.broker) throw new TradingError('site file: market.broker: missing; expected the community broker (url, and credentials or TLS files) a trading site talks to')
    const broker = settings.broker
    let chain: OpenedChain | null = null
    const closers: (() => Promise<void> | void)[] = []
    try {
      chain = await openChain({ chain: settings.chain, dataDir: p.dataDir })
      const opened = chain
      closers.push(() => opened.stop())
      const m = await openParticipantMarket({ chain, settings })
      const lookupSite = createChainSiteLookup({ client: m.client, market: m.market })
      const keys = await openSiteKeys({ site: siteSettings, dataDir: p.dataDir, passphrase: p.passphrase, lookupSite, market: m.market })
      const [registered] = await m.client.readContract({ address: m.market, abi: energyMarketAbi, functionName: 'site', args: [siteId] })
      const topics = marketTopics(chain.chainId, m.market)
      // the market's time is the chain's (a dev chain may run ahead of the wall clock)
      const clock = createChainClock({ client: m.client, nowMs: now })
      await clock.sample()
      const nowS = () => clock.nowS()
      let node: LiveNode
      try {
        node = await connectLiveNode({ broker, baseDir: p.siteFileDir ?? p.dataDir, topics, domain: m.domain, siteId, presenceKey: keys.owner, nowS, connectTimeoutMs: p.connectTimeoutMs ?? 10_000 })
      } catch (cause) {
        throw new TradingError(`site file: market.broker: ${messageOf(cause)}`, { cause })
      }
      closers.push(() => node.close().catch(() => node.transport.close()))
      const validator = createLiveValidator({
        domain: m.domain,
        topics,
        lookupSite,
        operator: m.operator,
        readingDeadline: (i) => m.intervalStart(i + 1n) + m.config.settleWindowSec,
        nowS,
      })
      const inbox = createLiveInbox({ transport: node.transport, validator })
      inbox.onVerdict((verdict) => {
        if (verdict.ok && verdict.message.kind === 'presence') {
          const b = verdict.message.body
          const role = b.role === ROLE_OPERATOR ? 'operator' : 'site'
          view.seen(role, b.siteId, b.online, b.epoch)
          view.emit('presence', null, `${role === 'operator' ? 'the operator' : `site ${b.siteId}`} is ${b.online ? 'online' : 'offline'}`)
        } else if (!verdict.ok && verdict.reason !== 'duplicate') view.emit('dropped', 'message' in verdict && verdict.message && verdict.message.kind !== 'presence' ? verdict.message.body.interval : null, `${verdict.reason}: ${verdict.detail}`)
      })
      const journal = createSigningJournal(join(p.dataDir, 'market', 'journal'))
      const outbox = createOutbox({ path: join(p.dataDir, 'market', 'outbox.db'), client: m.client, account: keys.owner, chainId: chain.chainId, abi: auctionVerifierAbi, now })
      closers.push(() => void outbox.close())
      const intervalMs = Number(m.config.intervalSec) * 1000
      const hours = intervalMs / 3_600_000
      const control = p.site.control
      const capWh = (registeredWh: number, maxPowerW: number | null | undefined) => Math.min(registeredWh, maxPowerW == null ? registeredWh : Math.floor(maxPowerW * hours))
      const importCapWh = capWh(registered.importCapWh, siteSettings.maxBuyPowerW ?? control?.grid.maxImportW)
      const exportCapWh = capWh(registered.exportCapWh, siteSettings.maxSellPowerW ?? control?.grid.maxExportW)
      const startMsOf = (i: bigint) => Number(m.intervalStart(i)) * 1000
      const participant = createLiveParticipant({
        siteId,
        inbox,
        publish: node.publish,
        journal,
        owner: keys.owner,
        meter: keys.meter,
        domain: m.domain,
        orderFor: (interval) => {
          const plan = p.plan()
          if (!plan) return null
          return orderFromPlan({ plan, siteId, interval, intervalStartMs: startMsOf(interval), intervalMs, deadline: m.intervalStart(interval), tariff: p.tariff(), importCapWh, exportCapWh }).order
        },
      })
      port = createSiteMarketPort({ anchorMs: startMsOf(0n), intervalMs, maxBuyPowerW: importCapWh / hours, maxSellPowerW: exportCapWh / hours, tariff: p.tariff })
      const fromBlock = await m.client.getBlockNumber()
      // the steps since the last 50 000 blocks (a restart), each checked once; a forgery is provable until its dispute window closes
      const watch = createStepWatch({
        client: m.client,
        market: m.market,
        verifier: m.verifier,
        domain: m.domain,
        penaltyBps: m.config.penaltyBps,
        fromBlock: fromBlock > 50_000n ? fromBlock - 50_000n : 0n,
        siteId,
        ownReading: (i) => {
          const recorded = journal.get('reading', siteId, i)
          return recorded?.kind === 'reading' ? { ...recorded.body, r: recorded.r, vs: recorded.vs } : null
        },
        peerReading: (i, id) => inbox.readings(i).find((x) => x.siteId === id) ?? null,
        provable: (i) => clock.nowS() <= m.intervalStart(i + 1n) + m.config.settleWindowSec + m.config.disputeWindowSec,
        prove: (key, tx) => {
          const interval = BigInt(key.split(':')[1]!)
          try {
            outbox.enqueue(key, tx)
            forgeryProofs.set(key, interval)
          } catch (error) {
            view.emit('error', interval, `forgery proof not queued: ${messageOf(error)}`)
          }
        },
        report: (interval, detail, forged, tx) => {
          view.emit('check', interval, detail, tx)
          if (forged) alarm('market:forgery', `interval ${interval}: ${detail}`)
        },
      })
      view.connected(
        {
          chainId: chain.chainId,
          rpcUrl: redactRpcUrl(chain.rpcUrl),
          embedded: chain.embedded,
          market: m.market,
          token: m.token,
          intervalSec: Number(m.config.intervalSec),
          disputeWindowSec: Number(m.config.disputeWindowSec),
          penaltyBps: m.config.penaltyBps,
          community: topics.community,
        },
        [{ siteId, owner: keys.owner.address, meter: keys.meter.address }],
        { counters: validator.counters, outboxPending: () => outbox.list().filter((e) => e.status === 'pending' || e.status === 'signed').length },
      )
      view.setBroker(true, null)
      view.setChain(true, null)
      return { chain, m, clock, node, inbox, journal, outbox, participant, watch, owner: keys.owner.address, startMsOf, intervalMs, fromBlock, close: async () => void (await closeAll(closers)) }
    } catch (error) {
      await closeAll(closers)
      throw error
    }
  }

  const closeAll = async (closers: (() => Promise<void> | void)[]) => {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch((error: unknown) => log(`market: closing: ${messageOf(error)}`))
  }

  // ---- one interval's steps, run every tick ------------------------------------------
  const edges = createMeterEdges({ path: join(p.dataDir, 'market', 'meter-edges.json') })
  const orderLeadMs = (intervalMs: number) => p.orderLeadMs ?? Math.round(intervalMs * 0.2)
  const decided = new Set<bigint>()
  const checked = new Set<bigint>()
  const read = new Set<bigint>()
  /** wrong clearings waiting for their commit on chain, with the orders they list */
  const toProve = new Map<bigint, SignedOrder[]>()
  const proofs = new Map<bigint, { encoded: EncodedClearing; siteRefs: bigint[]; stage: 'commit' | 'reveal' | 'done' }>()
  /** forgery proofs in the outbox (outbox key -> interval) until their transaction ends */
  const forgeryProofs = new Map<string, bigint>()
  let lastInterval: bigint | null = null
  let stopped = false

  const meterCounters = async () => {
    const meter = p.drivers.find((d) => d.meter)?.meter
    if (!meter) throw new TradingError(`site file: devices: no grid meter; a trading site signs its meter's readings`)
    const r = await meter.readMeter()
    if (r.importWh === null && r.exportWh === null) throw new TradingError('grid meter: no energy counters (importWh, exportWh); a trading site signs their differences')
    // SunSpec reads an accumulator of 0 as "not implemented": a meter that counts one way and
    // not yet the other (a site that has only bought) shows null beside a number. Before, such
    // a site never recorded an edge and never signed a reading (market-live-serve, G6).
    return { importWh: r.importWh ?? 0, exportWh: r.exportWh ?? 0 }
  }
  /** the last sample of the counters before an interval's start, to place the edge on the start when a tick came late */
  let lastSample: { atMs: number; importWh: number; exportWh: number } | null = null

  const chainCall = async <T>(what: string, call: () => Promise<T>): Promise<T | null> => {
    try {
      const result = await call()
      view.setChain(true, null)
      return result
    } catch (error) {
      view.setChain(false, `${what}: ${messageOf(error)}`)
      return null
    }
  }

  /** The commit transaction of `interval`'s clearing (commitClearing or marketStep), from the chain's logs. */
  const commitTxOf = async (l: NonNullable<typeof live>, interval: bigint): Promise<Hex | null> => {
    const [committed, stepped] = await Promise.all([
      l.m.client.getContractEvents({ address: l.m.market, abi: energyMarketAbi, eventName: 'ClearingCommitted', args: { interval }, fromBlock: l.fromBlock > 50_000n ? l.fromBlock - 50_000n : 0n }),
      l.m.client.getContractEvents({ address: l.m.market, abi: energyMarketAbi, eventName: 'Stepped', args: { committedInterval: interval }, fromBlock: l.fromBlock > 50_000n ? l.fromBlock - 50_000n : 0n }),
    ])
    return [...committed, ...stepped][0]?.transactionHash ?? null
  }

  /**
   * The transaction that settled (or finalized) `interval`: its own IntervalSettled /
   * IntervalFinalized log, or a marketStep that carried it (its Stepped log, see
   * steppedIntervals).
   */
  const settledTxOf = async (l: NonNullable<typeof live>, interval: bigint, what: 'settle' | 'finalize'): Promise<Hex | null> => {
    const fromBlock = l.fromBlock > 50_000n ? l.fromBlock - 50_000n : 0n
    const own = await l.m.client.getContractEvents({ address: l.m.market, abi: energyMarketAbi, eventName: what === 'settle' ? 'IntervalSettled' : 'IntervalFinalized', args: { interval }, fromBlock })
    if (own[0]) return own[0].transactionHash
    const steps = await l.m.client.getContractEvents({ address: l.m.market, abi: energyMarketAbi, eventName: 'Stepped', fromBlock })
    const carries = (word: bigint) => {
      const step = steppedIntervals(word)
      return what === 'settle' ? step.settled === interval : step.finalized.includes(interval)
    }
    return steps.find((e) => e.args.settledAndFinalized !== undefined && carries(e.args.settledAndFinalized))?.transactionHash ?? null
  }

  /**
   * A clearing that is not the auction of its orders: once its commit is on chain (the
   * operator publishes before it commits), prove it (commitProof, then proveClearing from a
   * later block) through the outbox. A commit that has not come by the interval's start
   * never will (the contract refuses it later): nothing to prove then.
   */
  async function startProof(l: NonNullable<typeof live>, interval: bigint, listed: SignedOrder[]): Promise<boolean> {
    const commitTx = await commitTxOf(l, interval)
    if (!commitTx) {
      if (l.clock.nowMs() < l.startMsOf(interval) + 2 * tickMs) return false
      view.emit('check', interval, 'the wrong clearing was not committed on chain: nothing to prove')
      return true
    }
    const announced = l.inbox.clearing(interval)!.message.body
    const receipt = await l.m.client.getTransactionReceipt({ hash: commitTx })
    const clearing = { interval, price: announced.priced ? announced.price : null, matches: announced.matches.map((x) => ({ ...x })), tradedWh: announced.matches.reduce((s, x) => s + x.energyWh, 0) }
    for (const includeUnmatched of [false, true]) {
      try {
        const encoded = encodeClearing(clearing, listed, { includeUnmatched })
        const siteRefs = await committedSiteRefs(l.m.client, l.m.market, encoded, receipt)
        proofs.set(interval, { encoded, siteRefs, stage: 'commit' })
        l.outbox.enqueue(`proof-commit:${interval}`, { to: l.m.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'commitProof', args: [clearingProofCommitment(l.owner, interval)] }) })
        view.emit('check', interval, `proving the committed clearing wrong on chain (commit ${commitTx})`, commitTx)
        return true
      } catch (error) {
        if (includeUnmatched) view.emit('error', interval, `cannot rebuild the committed clearing for a proof: ${messageOf(error)}`)
      }
    }
    return true
  }

  async function stepProofs(l: NonNullable<typeof live>) {
    for (const [key, interval] of forgeryProofs) {
      const entry = l.outbox.get(key)
      if (!entry || entry.status === 'pending' || entry.status === 'signed') continue
      forgeryProofs.delete(key)
      view.emit('check', interval, `${key.startsWith('forgery-orders') ? 'order forgery' : key.startsWith('settlement') ? 'settlement' : 'reading forgery'} proof ${entry.status}${entry.error ? `: ${entry.error}` : ''}`, entry.hashes.at(-1))
    }
    for (const [interval, listed] of toProve) if (await startProof(l, interval, listed)) toProve.delete(interval)
    if (!l.outbox.list().some((e) => e.status === 'pending' || e.status === 'signed') && ![...proofs.values()].some((x) => x.stage === 'commit')) return
    const result = await l.outbox.processOnce()
    if (result.rpcError) view.setChain(false, `outbox: ${result.rpcError}`)

    for (const [interval, proof] of proofs) {
      const entry = l.outbox.get(`proof-${proof.stage}:${interval}`)
      // the reveal must come from a later block than the commitment, and is simulated before it is signed
      if (proof.stage === 'commit' && entry?.status === 'confirmed' && entry.blockNumber !== null && (await l.m.client.getBlockNumber()) > entry.blockNumber) {
        proof.stage = 'reveal'
        l.outbox.enqueue(`proof-reveal:${interval}`, { to: l.m.verifier, data: encodeFunctionData({ abi: auctionVerifierAbi, functionName: 'proveClearing', args: proveClearingArgs({ clearing: proof.encoded, siteRefs: proof.siteRefs }) }) })
      } else if (proof.stage === 'reveal' && entry && entry.status !== 'pending' && entry.status !== 'signed') {
        proof.stage = 'done'
        view.emit('check', interval, `clearing proof ${entry.status}${entry.error ? `: ${entry.error}` : ''}`, entry.hashes.at(-1))
      }
    }
  }

  /** Once per interval: the settlement state of the intervals this site took part in, and its readings re-sent until settled. */
  async function followSettlement(l: NonNullable<typeof live>, cur: bigint) {
    for (const entry of view.intervals()) {
      if (entry.done || entry.interval >= cur) continue
      const record = await chainCall('intervalRecord', () => l.m.client.readContract({ address: l.m.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [entry.interval] }))
      if (!record) return
      const [status, settledAt, isFinal] = record
      // the clearing arrives before its commit is mined: the commit's hash is looked up again until found
      if (status >= 1 && !entry.commitTx && entry.clearing && entry.clearing.price !== null) entry.commitTx = await chainCall('commit logs', () => commitTxOf(l, entry.interval))
      if (status >= 2 && status !== 3 && !entry.settleTx) {
        // until its transaction is found (a log query can fail): settled on chain, hash looked up again next time
        const first = entry.disputeWindowEndsAtMs === null
        entry.settleTx = await settledTxOf(l, entry.interval, 'settle').catch(() => null)
        entry.disputeWindowEndsAtMs = Number(settledAt + l.m.config.disputeWindowSec) * 1000
        if (first || entry.settleTx) view.emit('settle', entry.interval, `settled on chain`, entry.settleTx ?? undefined)
      }
      if (isFinal && !entry.finalizeTx) {
        const first = !entry.final
        entry.final = true
        entry.finalizeTx = await settledTxOf(l, entry.interval, 'finalize').catch(() => null)
        if (first || entry.finalizeTx) view.emit('finalize', entry.interval, 'final: no dispute possible any more', entry.finalizeTx ?? undefined)
      }
      const deadlineMs = Number(l.m.intervalStart(entry.interval + 1n) + l.m.config.settleWindowSec) * 1000
      const noTrade = status === 0 && (l.clock.nowMs() > deadlineMs || (entry.clearing !== null && entry.clearing.price === null))
      entry.closed = status >= 2 || l.clock.nowMs() > deadlineMs || noTrade
      // followed on until final (its finalization shown), voided, or never committed
      entry.done = (isFinal && entry.finalizeTx !== null) || status === 3 || noTrade
    }
    const escrow = await chainCall('balance', () => readEscrow(l.m.client, l.m.market, siteId))
    if (escrow !== null) view.setBalance(escrow)
    await republish(l)
  }

  /** Re-sends every signed reading of an interval not yet settled (after a reconnection, and every interval). */
  async function republish(l: NonNullable<typeof live>) {
    const open = new Set(view.intervals().filter((e) => !e.closed).map((e) => e.interval))
    const oldest = [...open].reduce((a, b) => (b < a ? b : a), lastInterval ?? 0n)
    for (const message of l.journal.list('reading', oldest)) {
      if (message.body.siteId !== siteId || !open.has(message.body.interval)) continue
      await l.node.publish(message).catch((error: unknown) => view.setBroker(false, messageOf(error)))
    }
  }

  let sampledAtMs = 0
  let watchedAtMs = 0
  async function tick(l: NonNullable<typeof live>) {
    if (now() - sampledAtMs >= 5_000) {
      sampledAtMs = now()
      await chainCall('the latest block', () => l.clock.sample())
    }
    if (now() - watchedAtMs >= Math.min(2_000, 2 * tickMs)) {
      watchedAtMs = now()
      await chainCall('the steps', () => l.watch.poll())
    }
    const t = l.clock.nowMs()
    const cur = (BigInt(Math.floor(t / 1000)) - l.m.config.genesis) / l.m.config.intervalSec
    const next = cur + 1n
    const entryOf = (i: bigint) => view.interval(i, l.startMsOf(i), l.startMsOf(i + 1n))
    view.setCurrent(next, Number(gateClosesAt(l.m.intervalStart(next), l.m.config.intervalSec)) * 1000)
    view.setBroker(l.node.transport.connected)
    // the meter's counters at the interval's start (a site that comes up later has no edge for it)
    // A tick that comes late (a loaded machine) places the edge on the start between the last
    // sample before it and this one, as the counters moved linearly between them.
    const startMs = l.startMsOf(cur)
    const lastTickSample = lastSample
    const interpolable = lastTickSample !== null && lastTickSample.atMs < startMs && t - lastTickSample.atMs <= l.intervalMs / 2
    if (!edges.has(cur) && (interpolable || t - startMs <= Math.min(Math.max(2 * tickMs, 5_000), l.intervalMs / 2))) {
      try {
        const counters = await meterCounters()
        const f = interpolable && t > lastTickSample!.atMs ? (startMs - lastTickSample!.atMs) / (t - lastTickSample!.atMs) : 1
        const at = (a: number, b: number) => a + f * (b - a)
        edges.record(interpolable ? { interval: cur, atMs: startMs, importWh: at(lastTickSample!.importWh, counters.importWh), exportWh: at(lastTickSample!.exportWh, counters.exportWh) } : { interval: cur, atMs: t, ...counters })
        lastSample = { atMs: t, ...counters }
      } catch (error) {
        view.emit('error', cur, `cannot read the grid meter at the interval's start: ${messageOf(error)}`)
      }
    } else if (t >= startMs + l.intervalMs - Math.max(3 * tickMs, 10_000, l.intervalMs / 4)) {
      // the last quarter of an interval: keep a sample for the next edge (a time-warped clock moves a simulated minute a tick)
      try {
        lastSample = { atMs: t, ...(await meterCounters()) }
      } catch {
        lastSample = null
      }
    }
    // after delivery: the reading of the interval that just ended, signed once
    const prev = cur - 1n
    if (!read.has(prev) && l.journal.get('order', siteId, prev)) {
      read.add(prev)
      const delta = edges.delta(prev)
      if (!delta) view.emit('error', prev, `no reading: the meter's counters were not sampled at both edges of the interval (the site was down at one)`)
      else {
        try {
          const message = await l.participant.publishReading({ interval: prev, ...delta })
          entryOf(prev).reading = { ...message.body, r: message.r, vs: message.vs }
          view.emit('reading', prev, `signed and published: import ${message.body.importWh} Wh, export ${message.body.exportWh} Wh`)
        } catch (error) {
          view.emit('error', prev, `reading not published now (it is re-sent): ${messageOf(error)}`)
          const recorded = l.journal.get('reading', siteId, prev)
          if (recorded?.kind === 'reading') entryOf(prev).reading = { ...recorded.body, r: recorded.r, vs: recorded.vs }
        }
      }
    }
    // before gate closure: the order the plan implies for the next interval
    const orderAtMs = l.startMsOf(next) - orderLeadMs(l.intervalMs)
    if (!decided.has(next) && t >= orderAtMs) {
      decided.add(next)
      if (t >= Number(gateClosesAt(l.m.intervalStart(next), l.m.config.intervalSec)) * 1000 && !l.journal.get('order', siteId, next)) view.emit('sat-out', next, 'missed the gate: runs its local plan')
      else {
        try {
          const order = await l.participant.placeOrder(next)
          if (order) {
            entryOf(next)
            view.emit('order', next, `${order.side === 0 ? 'bid' : 'ask'} ${order.energyWh} Wh at ${order.limitPrice} per kWh`)
          } else view.emit('sat-out', next, p.plan() ? 'the plan trades nothing in this interval' : 'no plan yet: runs self-consumption')
        } catch (error) {
          view.emit('sat-out', next, `no order: ${messageOf(error)}`)
        }
      }
    }
    port?.openFrom(l.startMsOf(t >= orderAtMs ? next + 1n : next))
    // the operator's clearing, checked against the orders this site saw
    for (const i of [cur, next]) {
      if (checked.has(i) || !l.journal.get('order', siteId, i)) continue
      const announced = l.inbox.clearing(i)
      if (!announced) {
        if (t >= l.startMsOf(i + 1n)) {
          checked.add(i)
          view.emit('sat-out', i, 'no clearing arrived: runs its local plan')
        }
        continue
      }
      checked.add(i)
      const entry = entryOf(i)
      const body = announced.message.body
      entry.orders = l.inbox.orders(i)
      entry.clearing = { interval: i, price: body.priced ? body.price : null, matches: body.matches.map((x) => ({ ...x })), tradedWh: body.matches.reduce((s, x) => s + x.energyWh, 0) }
      view.emit('clearing', i, body.priced ? `price ${body.price} per kWh, ${entry.clearing.tradedWh} Wh traded` : 'nothing trades')
      const check = await l.participant.checkClearing(i)
      if (check.status === 'agrees') {
        port?.commit(l.startMsOf(i), check.netSellWh)
        entry.check = { agrees: true, detail: `this site ${check.netSellWh >= 0 ? 'sells' : 'buys'} ${Math.abs(check.netSellWh)} Wh` }
        view.emit('check', i, `agrees: ${entry.check.detail}`)
        if (body.priced) entry.commitTx = await chainCall('commit logs', () => commitTxOf(l, i))
      } else if (check.status === 'differs') {
        alarm('market:clearing', `interval ${i}: the operator's clearing is wrong: ${check.why}; runs its local plan, proof raised on chain`)
        entry.check = { agrees: false, detail: check.why.slice(0, 2000) }
        view.emit('check', i, `differs: ${check.why}`)
        toProve.set(i, l.inbox.orders(i).filter((o) => body.orders.includes(orderDigest(l.m.domain, o))))
      } else {
        const detail = check.status === 'unseen-orders' ? `cannot recompute: ${check.unseen.length} listed orders never reached this site; runs its local plan` : 'no clearing'
        if (check.status === 'unseen-orders') entry.check = { agrees: false, detail }
        view.emit('check', i, detail)
      }
    }
    if (lastInterval !== cur) {
      lastInterval = cur
      l.inbox.validator.acceptFrom('order', cur)
      l.inbox.validator.acceptFrom('clearing', cur)
      l.inbox.validator.acceptFrom('reading', cur - 1n)
      await followSettlement(l, cur)
    }
    await stepProofs(l).catch((error: unknown) => view.setChain(false, `outbox: ${messageOf(error)}`))
  }

  // ---- running: join (retried), then tick ----------------------------------------------
  let timer: NodeJS.Timeout | null = null
  let running: Promise<void> = Promise.resolve()
  let retryMs = retry.firstMs
  const schedule = (ms: number, run: () => Promise<void>) => {
    if (stopped) return
    timer = setTimeout(() => {
      running = run()
    }, ms)
    timer.unref?.()
  }
  const loop = async () => {
    if (stopped || !live) return
    const l = live
    try {
      await tick(l)
    } catch (error) {
      view.emit('error', null, `market step failed: ${messageOf(error)}`)
    }
    schedule(tickMs, loop)
  }
  const attempt = async () => {
    if (stopped) return
    try {
      const joined = await join_()
      if (stopped) return void (await joined.close())
      live = joined
      alarm('market:live', null)
      log(`market: site ${siteId} trades in ${live.m.market} on chain ${live.chain.chainId} via ${brokerUrl}`)
      live.node.transport.onReconnect(() => {
        view.setBroker(true, null)
        if (live) void republish(live).catch(() => {})
      })
      for (const message of live.journal.list('reading', 0n)) {
        if (message.body.siteId !== siteId) continue
        view.interval(message.body.interval, live.startMsOf(message.body.interval), live.startMsOf(message.body.interval + 1n)).reading = { ...message.body, r: message.r, vs: message.vs }
      }
      schedule(0, loop)
    } catch (error) {
      const why = messageOf(error)
      view.setBroker(false, why)
      view.emit('error', null, `cannot trade: ${why}; runs its local plan, retried in ${Math.round(retryMs / 1000)} s`)
      alarm('market:live', `cannot trade: ${why}; the site runs its local plan and retries`)
      log(`market: cannot trade: ${why}; retried in ${Math.round(retryMs / 1000)} s`)
      const wait = retryMs
      retryMs = Math.min(retryMs * 2, retry.maxMs)
      schedule(wait, attempt)
    }
  }
  await attempt()

  return {
    view: view.view,
    market,
    connected: () => live !== null,
    async stop() {
      stopped = true
      if (timer) clearTimeout(timer)
      await running.catch(() => {})
      await live?.close()
      live = null
    },
  }
}
