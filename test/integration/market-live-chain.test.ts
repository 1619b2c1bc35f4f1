// One interval of the live market end to end on real peers (issue 15): anvil with the
// market contract, the embedded broker, three sites and the operator as live nodes. Each
// site publishes the order its plan implies (orderFromPlan), the operator clears at gate
// closure, publishes the signed clearing and commits it on chain (the contract checks every
// order's signature again), and every site recomputes the clearing and agrees. Forged and
// replayed orders on the broker are dropped and counted against the on-chain registry.
// After delivery the sites publish their meter readings and the operator settles with them.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { settleArgs } from '../../core/chain/settleArgs.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import type { Tariff } from '../../core/control/timeOfUseTariff.ts'
import { orderFromPlan } from '../../core/trading/orderFromPlan.ts'
import { connectLiveNode, type LiveNode } from '../../core/market/live/connectLiveNode.ts'
import { createChainSiteLookup } from '../../core/market/live/createChainSiteLookup.ts'
import { createLiveInbox } from '../../core/market/live/createLiveInbox.ts'
import { createLiveOperator } from '../../core/market/live/createLiveOperator.ts'
import { createLiveParticipant } from '../../core/market/live/createLiveParticipant.ts'
import { createLiveValidator } from '../../core/market/live/createLiveValidator.ts'
import { createSigningJournal } from '../../core/market/live/createSigningJournal.ts'
import type { LiveMessage } from '../../core/market/live/liveMessageSchema.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { signLiveMessage } from '../../core/market/live/signLiveMessage.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../core/market/live/startEmbeddedBroker.ts'
import type { Plan } from '../../core/schedule/planSchedule.ts'
import { commitOnLocalMarket } from '../support/commitOnLocalMarket.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

const tariff: Tariff = { timezone: 'UTC', importBands: [], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.08 }

/** A plan whose slot at `startMs` buys or sells `marketW` (> 0 buys); the rest of the plan does not matter to the order. */
function planWith(startMs: number, marketW: number): Plan {
  const slot = { startMs, batteryPowerW: 0, gridPowerW: marketW, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: 0, socPct: null, flexibleLoads: [], marketBuyW: Math.max(marketW, 0), marketSellW: Math.max(-marketW, 0), importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.08 }
  return {
    version: 1,
    createdAtMs: startMs - 3_600_000,
    startMs,
    slotDurationMs: 900_000,
    objective: 'cost',
    objectiveValue: 0,
    expectedCostEur: 0,
    costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 },
    status: 'optimal',
    initialSocPct: null,
    unmetGoals: [],
    warnings: [],
    solveStats: { solveTimeMs: 0, rounds: 1, integerVariables: 0, columns: 0, rows: 0 },
    slots: [slot],
  } as Plan
}

describe('live market interval on anvil and the embedded broker', () => {
  let anvil: Anvil
  let lm: LocalMarket
  let broker: EmbeddedBroker
  const nodes: LiveNode[] = []
  let chainNowS = 0n
  const nowS = () => chainNowS

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31337 })
    lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 3 })
  }, 120_000)
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.transport.close().catch(() => {})))
    await broker?.close()
    await anvil?.stop()
  })

  it('sites order from their plans, the operator clears, publishes and commits, every site agrees, and the readings the sites publish settle on chain; forged and replayed orders are counted', async () => {
    const topics = marketTopics(anvil.chainId, lm.market)
    const passwords = Object.fromEntries(['operator', 'site-0', 'site-1', 'site-2'].map((u) => [u, `${u}-${Math.random().toString(36).slice(2)}`]))
    broker = await startEmbeddedBroker({ users: passwords, topics })
    const interval = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(interval) - 300n)
    chainNowS = (await lm.client.getBlock()).timestamp
    const lookupSite = createChainSiteLookup({ client: lm.client, market: lm.market })
    const validatorFor = () => createLiveValidator({ domain: lm.domain, topics, operator: lm.operator.address, lookupSite, readingDeadline: (i) => lm.intervalStart(i + 1n) + lm.config.settleWindowSec, nowS })
    const join_ = async (siteId: number | null) => {
      const node = await connectLiveNode({ broker: { url: broker.url, password: passwords[topics.username(siteId)]! }, topics, domain: lm.domain, siteId, presenceKey: siteId === null ? lm.operator : lm.sites[siteId]!.owner, nowS })
      nodes.push(node)
      const validator = validatorFor()
      validator.acceptFrom('order', interval)
      return { node, inbox: createLiveInbox({ transport: node.transport, validator }) }
    }
    const op = await join_(null)
    const onChain = commitOnLocalMarket(lm)
    const operator = createLiveOperator({ inbox: op.inbox, publish: op.node.publish, operator: lm.operator, domain: lm.domain, commit: onChain.commit })
    const startMs = Number(lm.intervalStart(interval)) * 1000
    const planW = [-2_000, 1_200, 1_000] // site 0 sells 500 Wh, site 1 buys 300, site 2 buys 250
    const sites = await Promise.all(
      planW.map(async (w, siteId) => {
        const { node, inbox } = await join_(siteId)
        const plan = planWith(startMs, w)
        const participant = createLiveParticipant({
          siteId,
          inbox,
          publish: node.publish,
          journal: createSigningJournal(mkdtempSync(join(tmpdir(), `live-site-${siteId}-`))),
          owner: lm.sites[siteId]!.owner,
          meter: lm.sites[siteId]!.meter,
          domain: lm.domain,
          orderFor: (i) => orderFromPlan({ plan, siteId, interval: i, intervalStartMs: Number(lm.intervalStart(i)) * 1000, deadline: lm.intervalStart(i), tariff, importCapWh: 20_000, exportCapWh: 20_000 }).order,
        })
        return { node, inbox, participant }
      }),
    )
    // the attacks, on the site's own topics (a site's broker account misused): an order for
    // site 1 signed by a key the registry does not know, and site 0's signed order of the
    // previous interval replayed
    const outsider = privateKeyToAccount(generatePrivateKey())
    const forged = await signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(outsider, lm.domain, { kind: 'order', body: { siteId: 1, interval, side: 0, energyWh: 5_000, limitPrice: 10_000_000n, deadline: lm.intervalStart(interval) } })
    const old = await signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(lm.sites[0]!.owner, lm.domain, { kind: 'order', body: { siteId: 0, interval: interval - 1n, side: 1, energyWh: 5_000, limitPrice: 1n, deadline: lm.intervalStart(interval - 1n) } })
    await sites[1]!.node.publish(forged)
    await sites[0]!.node.publish(old)
    const placed = await Promise.all(sites.map((s) => s.participant.placeOrder(interval)))
    expect(placed.map((o) => o && { side: o.side, energyWh: o.energyWh, limitPrice: o.limitPrice })).toEqual([
      { side: 1, energyWh: 500, limitPrice: 80_000n },
      { side: 0, energyWh: 300, limitPrice: 300_000n },
      { side: 0, energyWh: 250, limitPrice: 300_000n },
    ])
    // gate closure once the operator has the three real orders
    for (let tries = 0; op.inbox.orders(interval).length < 3; tries++) {
      if (tries > 400) throw new Error(`the operator has ${op.inbox.orders(interval).length} of 3 orders after 20 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const closed = await operator.closeGate(interval, lm.intervalStart(interval))
    expect(closed.clearing).toMatchObject({ price: 190_000n, tradedWh: 500 })
    expect(closed.commitTx).toMatch(/^0x[0-9a-f]{64}$/)
    expect(closed.orders.map((o) => o.siteId)).toEqual([0, 1, 2])
    expect(op.inbox.validator.counters()).toMatchObject({ forged: 1, replayed: 1, conflicting: 0 })
    const checks = []
    for (const s of sites) {
      for (let tries = 0; !s.inbox.clearing(interval); tries++) {
        if (tries > 400) throw new Error('no clearing at a site after 20 s')
        await new Promise((r) => setTimeout(r, 50))
      }
      checks.push(await s.participant.checkClearing(interval))
    }
    expect(checks).toEqual([
      { status: 'agrees', netSellWh: 500, price: 190_000n },
      { status: 'agrees', netSellWh: -300, price: 190_000n },
      { status: 'agrees', netSellWh: -200, price: 190_000n },
    ])
    for (const s of sites) expect(s.inbox.validator.counters()).toMatchObject({ forged: 1, replayed: 1, conflicting: 0 })
    // a second request for the same interval (a restart) publishes the recorded order, not a new one
    const again = await sites[0]!.participant.placeOrder(interval)
    expect(again).toEqual(placed[0])
    // delivery: the interval ends, each site signs its meter's reading with its meter key and
    // publishes it; the operator settles on chain with the readings it accepted from the broker
    await lm.warpTo(lm.intervalStart(interval + 1n) + 1n)
    chainNowS = (await lm.client.getBlock()).timestamp
    const metered = [{ importWh: 0, exportWh: 500 }, { importWh: 300, exportWh: 0 }, { importWh: 200, exportWh: 0 }]
    await Promise.all(sites.map((s, i) => s.participant.publishReading({ interval, ...metered[i]! })))
    for (let tries = 0; op.inbox.readings(interval).length < 3; tries++) {
      if (tries > 400) throw new Error(`the operator has ${op.inbox.readings(interval).length} of 3 readings after 20 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const c = onChain.committed.get(interval)!
    const readings = c.encoded.siteIds.map((id) => op.inbox.readings(interval).find((r) => r.siteId === id)!)
    const settleHash = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'settle', args: settleArgs({ clearing: c.encoded, siteRefs: c.siteRefs, readings }) })
    expect((await lm.client.waitForTransactionReceipt({ hash: settleHash })).status).toBe('success')
  }, 180_000)

  it('reads the registry from the chain: an unregistered site is forged, an unreachable chain leaves messages unverified', async () => {
    const lookup = createChainSiteLookup({ client: lm.client, market: lm.market, cacheMs: 0 })
    expect(await lookup(1)).toEqual({ owner: lm.sites[1]!.owner.address, meterKey: lm.sites[1]!.meter.address, active: true })
    expect(await lookup(99)).toBeNull()
    const topics = marketTopics(anvil.chainId, lm.market)
    const validator = createLiveValidator({ domain: lm.domain, topics, operator: lm.operator.address, lookupSite: lookup, readingDeadline: () => 0n, nowS: () => 0n })
    const sign = (siteId: number) => signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(lm.sites[0]!.owner, lm.domain, { kind: 'order', body: { siteId, interval: 5n, side: 1, energyWh: 10, limitPrice: 1n, deadline: 10n } })
    const { encodeLiveMessage } = await import('../../core/market/live/liveMessageSchema.ts')
    expect(await validator.check(topics.order(99, 5n), encodeLiveMessage(await sign(99)))).toMatchObject({ ok: false, reason: 'forged', detail: expect.stringContaining('site 99 is not registered') })
    await anvil.stop()
    expect(await validator.check(topics.order(0, 5n), encodeLiveMessage(await sign(0)))).toMatchObject({ ok: false, reason: 'unverified' })
  }, 60_000)
})
