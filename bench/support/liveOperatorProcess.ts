// The live market's operator in a process of its own, for bench/market-live.bench.ts, so
// its CPU time per interval is its own (process.cpuUsage) and not the sites' or the
// broker's. It opens the market the bench deployed from its data folder (openMarket: the
// operator key file and <data>/chain/market.json), joins the broker as the operator, and
// per request closes one gate with createLiveOperator: clear -> publish the signed
// clearing -> one marketStep through the persistent outbox that finalizes what is past its
// dispute window, settles the interval that just ended with the readings taken from the
// broker and commits the gate's clearing (a standalone commit, settle or finalize when a
// step has nothing to pair with). Time is the bench's: each request carries chain time.
//
// argv: <dataDir> <json {rpcUrl, brokerUrl, settings}>; env: GRIDMESH_KEYSTORE_PASSPHRASE,
// BENCH_BROKER_PASSWORD. stdin/stdout: JSON lines (core/market/jsonLines.ts).
import { join } from 'node:path'
import type { Hex } from 'viem'
import { createInterface } from 'node:readline'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { buildFinalization, type Finalization } from '../../core/chain/buildFinalization.ts'
import { committedSiteRefs } from '../../core/chain/committedSiteRefs.ts'
import { createOutbox } from '../../core/chain/createOutbox.ts'
import { encodeMarketCall, type MarketCall } from '../../core/chain/encodeMarketCall.ts'
import { openChain } from '../../core/chain/openChain.ts'
import { openMarket } from '../../core/chain/openMarket.ts'
import { sendThroughOutbox } from '../../core/chain/sendThroughOutbox.ts'
import { encodeClearing, type EncodedClearing } from '../../core/market/encodeClearing.ts'
import { fromJsonLine, toJsonLine } from '../../core/market/jsonLines.ts'
import { connectLiveNode } from '../../core/market/live/connectLiveNode.ts'
import { createLiveInbox } from '../../core/market/live/createLiveInbox.ts'
import { createLiveOperator } from '../../core/market/live/createLiveOperator.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import type { SignedMeterReading } from '../../core/market/signMarketData.ts'
import { siteMarketSchema } from '../../core/site/siteMarketSchema.ts'
import { createMarketValidator } from './createMarketValidator.ts'

export type OperatorRequest =
  /** close the gate of `gate` and settle `settle` (if it was committed), at chain time `nowS` */
  | { type: 'step'; gate: bigint; settle: bigint; nowS: bigint }
  | { type: 'bye' }

export type OperatorStepAnswer = {
  type: 'step'
  gate: bigint
  ordersAtGate: number
  price: bigint | null
  tradedWh: number
  /** the gate's clearing is on chain (the contract's commit), or null when nothing traded */
  commitTx: Hex | null
  /** real time from gate closure (createLiveOperator.closeGate called) to the commit's receipt */
  gateToCommitMs: number | null
  /** real time from gate closure to the signed clearing's PUBACK from the broker */
  gateToClearingPublishedMs: number
  /** real time the operator waited for the ended interval's readings before the gate */
  readingsWaitMs: number
  settled: bigint | null
  /** committed sites of the ended interval with no reading by the gate (left for a later settle) */
  readingsMissing: number
  finalized: bigint[]
  /** CPU time of this process since its previous answer (one interval) */
  cpuUserUs: number
  cpuSystemUs: number
  counters: Record<string, number>
}

const [dataDir, json] = process.argv.slice(2)
if (!dataDir || !json) throw new Error('liveOperatorProcess: expected <dataDir> <json {rpcUrl, brokerUrl, settings}> as arguments')
const args = JSON.parse(json) as { rpcUrl: string; brokerUrl: string; settings: Record<string, unknown> }
const password = process.env.BENCH_BROKER_PASSWORD
if (!password) throw new Error('liveOperatorProcess: BENCH_BROKER_PASSWORD is not set; expected the operator\'s broker password')

const chain = await openChain({ chain: { rpcUrl: args.rpcUrl }, dataDir })
const lm = await openMarket({ chain, settings: siteMarketSchema.parse({ ...args.settings, chain: { rpcUrl: args.rpcUrl } }), dataDir })
const topics = marketTopics(chain.chainId, lm.market)
let chainNowS = (await lm.client.getBlock()).timestamp
const node = await connectLiveNode({ broker: { url: args.brokerUrl, password }, topics, domain: lm.domain, siteId: null, presenceKey: lm.operator, nowS: () => chainNowS })
const validator = createMarketValidator(lm, topics, () => chainNowS)
const inbox = createLiveInbox({ transport: node.transport, validator })
const outbox = createOutbox({ path: join(dataDir, 'outbox.db'), client: lm.client, account: lm.operator, chainId: chain.chainId, abi: energyMarketAbi })

/** Sends one market call through the outbox and waits until it is mined. */
async function send(key: string, call: MarketCall) {
  const { hash, receipt } = await sendThroughOutbox({ outbox, client: lm.client, key, tx: { to: lm.market, data: encodeMarketCall(call) }, what: key, maxPasses: 200, pauseMs: 10 })
  return { hash, receipt }
}

const committed = new Map<bigint, { encoded: EncodedClearing; siteRefs: bigint[] }>()
const settled = new Map<bigint, Finalization & { settledAtS: bigint }>()
let cpuMark = process.cpuUsage()

async function step(r: Extract<OperatorRequest, { type: 'step' }>): Promise<OperatorStepAnswer> {
  chainNowS = r.nowS
  // the ended interval's readings: the sites publish them as it ends, just before this gate
  const waitStart = performance.now()
  const due = committed.get(r.settle)
  let readings: SignedMeterReading[] | null = null
  if (due) {
    for (let tries = 0; tries < 200; tries++) {
      await inbox.settled()
      const byId = new Map(inbox.readings(r.settle).map((x) => [x.siteId, x]))
      if (due.encoded.siteIds.every((id) => byId.has(id))) {
        readings = due.encoded.siteIds.map((id) => byId.get(id)!)
        break
      }
      await new Promise((res) => setTimeout(res, 25))
    }
  }
  const readingsWaitMs = performance.now() - waitStart
  const settleInput = due && readings ? { clearing: due.encoded, siteRefs: due.siteRefs, readings } : null
  const finals = [...settled.values()].filter((f) => f.settledAtS + lm.config.disputeWindowSec <= r.nowS)
  let settledNow = false
  const afterSettle = async (blockNumber: bigint) => {
    const { timestamp } = await lm.client.getBlock({ blockNumber })
    settled.set(r.settle, { ...buildFinalization({ ...settleInput!, penaltyBps: lm.config.penaltyBps }), settledAtS: timestamp })
    committed.delete(r.settle)
    settledNow = true
  }
  const finalizeAlone = async () => {
    for (const f of finals) await send(`finalize:${lm.market}:${f.interval}`, { kind: 'finalize', finalization: f })
  }
  let finalsDone = false
  const gateAt = performance.now()
  let commitMinedAt: number | null = null
  let publishedAt = gateAt
  const operator = createLiveOperator({
    inbox,
    publish: async (m) => {
      await node.publish(m)
      publishedAt = performance.now()
    },
    operator: lm.operator,
    domain: lm.domain,
    commit: async (clearing, orders) => {
      const encoded = encodeClearing(clearing, orders)
      let sent
      if (settleInput) {
        // the live market's one transaction per interval: finalize, settle, commit
        sent = await send(`step:${lm.market}:${clearing.interval}`, { kind: 'step', finals, settle: settleInput, commit: encoded })
        finalsDone = true
        await afterSettle(sent.receipt.blockNumber)
      } else {
        await finalizeAlone()
        finalsDone = true
        sent = await send(`commit:${lm.market}:${clearing.interval}`, { kind: 'commit', clearing: encoded })
      }
      commitMinedAt = performance.now()
      committed.set(clearing.interval, { encoded, siteRefs: await committedSiteRefs(lm.client, lm.market, encoded, sent.receipt) })
      return sent.hash
    },
  })
  const closed = await operator.closeGate(r.gate, lm.intervalStart(r.gate))
  const gateToCommitMs = commitMinedAt === null ? null : commitMinedAt - gateAt
  // nothing traded at this gate: the ended interval is settled and the due ones finalized on their own
  if (!finalsDone) await finalizeAlone()
  if (settleInput && !settledNow) {
    const sent = await send(`settle:${lm.market}:${r.settle}`, { kind: 'settle', ...settleInput })
    await afterSettle(sent.receipt.blockNumber)
  }
  for (const f of finals) settled.delete(f.interval)
  const cpu = process.cpuUsage(cpuMark)
  cpuMark = process.cpuUsage()
  return {
    type: 'step',
    gate: r.gate,
    ordersAtGate: closed.orders.length,
    price: closed.clearing.price,
    tradedWh: closed.clearing.tradedWh,
    commitTx: closed.commitTx,
    gateToCommitMs,
    gateToClearingPublishedMs: publishedAt - gateAt,
    readingsWaitMs,
    settled: settledNow ? r.settle : null,
    readingsMissing: due && !readings ? due.encoded.siteIds.length - inbox.readings(r.settle).length : 0,
    finalized: finals.map((f) => f.interval),
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    counters: validator.counters(),
  }
}

const answer = (value: unknown) => process.stdout.write(toJsonLine(value))
answer({ type: 'ready', operator: lm.operator.address })
for await (const line of createInterface({ input: process.stdin })) {
  const r = fromJsonLine<OperatorRequest>(line)
  try {
    if (r.type === 'bye') break
    answer(await step(r))
  } catch (error) {
    answer({ type: 'error', message: error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error) })
  }
}
await node.close().catch(() => {})
outbox.close()
await chain.stop()
process.exit(0)
