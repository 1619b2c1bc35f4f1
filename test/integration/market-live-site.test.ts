// A trading site (startLiveSite, what `serve` runs) on real peers (issue 15): anvil with the
// market contract, the embedded broker with the protocol's ACL, the operator and a peer
// site as live nodes driven by this test. The site orders from its plan before the gate,
// checks the operator's clearing, hands its trade to the control loop, samples the meter's
// counters at the interval's edges and signs their difference once: a restart re-sends the
// recorded reading, never a second one. Chain time is moved with anvil's test methods so a
// 60 s interval takes seconds. Then the bad inputs: each named, alarmed, retried, and the
// site never stops.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auctionVerifierAbi, energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { encryptKeystore, saveKeystore } from '../../core/chain/keystore.ts'
import { settleArgs } from '../../core/chain/settleArgs.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import type { DeviceDriver } from '../../core/devices/capabilities.ts'
import type { SiteFile } from '../../core/devices/site/siteFileSchema.ts'
import { clearingBody } from '../../core/market/live/clearingBody.ts'
import { connectLiveNode, type LiveNode } from '../../core/market/live/connectLiveNode.ts'
import { createChainSiteLookup } from '../../core/market/live/createChainSiteLookup.ts'
import { createLiveInbox } from '../../core/market/live/createLiveInbox.ts'
import { createLiveOperator } from '../../core/market/live/createLiveOperator.ts'
import { createLiveParticipant } from '../../core/market/live/createLiveParticipant.ts'
import { createLiveValidator } from '../../core/market/live/createLiveValidator.ts'
import { createSigningJournal } from '../../core/market/live/createSigningJournal.ts'
import type { LiveMessage } from '../../core/market/live/liveMessageSchema.ts'
import type { LiveMarketEvent } from '../../core/market/live/liveMarketView.ts'
import { marketTopics, type MarketTopics } from '../../core/market/live/marketTopics.ts'
import { signLiveMessage } from '../../core/market/live/signLiveMessage.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../core/market/live/startEmbeddedBroker.ts'
import { signOrder } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { stepMarket } from '../../core/chain/stepMarket.ts'
import { clear } from '../fixtures/market/marketFlow.ts'
import type { Plan } from '../../core/schedule/planSchedule.ts'
import { createChainClock } from '../../core/trading/createChainClock.ts'
import { startLiveSite, type StartLiveSiteParameters } from '../../core/trading/startLiveSite.ts'
import { commitOnLocalMarket } from '../support/commitOnLocalMarket.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

const passphrase = 'live site test passphrase'
const tariff = { timezone: 'UTC', importBands: [], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.08 }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until<T>(what: string, get: () => T | Promise<T>, timeoutMs = 20_000): Promise<NonNullable<T>> {
  for (const t0 = Date.now(); ; await sleep(100)) {
    const value = await get()
    if (value) return value as NonNullable<T>
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
  }
}

/** A plan that buys `buyW` from the market in every 15-minute slot of the next hours. */
function buyingPlan(fromMs: number, buyW: number): Plan {
  const start = Math.floor(fromMs / 900_000) * 900_000
  const slots = Array.from({ length: 16 }, (_, k) => ({ startMs: start + k * 900_000, batteryPowerW: 0, gridPowerW: buyW, pvPowerW: 0, pvCurtailedW: 0, loadPowerW: buyW, socPct: null, flexibleLoads: [], marketBuyW: buyW, marketSellW: 0, importPriceEurPerKWh: 0.3, exportPriceEurPerKWh: 0.08 }))
  return { version: 1, createdAtMs: start, startMs: start, slotDurationMs: 900_000, objective: 'cost', objectiveValue: 0, expectedCostEur: 0, costBreakdownEur: { energy: 0, market: 0, peak: 0, degradation: 0 }, status: 'optimal', initialSocPct: null, unmetGoals: [], warnings: [], solveStats: { solveTimeMs: 0, rounds: 1, integerVariables: 0, columns: 0, rows: 0 }, slots } as unknown as Plan
}

/** A grid meter whose energy counters the test moves. */
function fakeMeter() {
  const counters = { importWh: 12_000, exportWh: 3_000 }
  const driver = {
    name: 'grid',
    driver: 'fake',
    identity: { manufacturer: 'test', model: 'meter', serial: '1' },
    capabilities: ['meter'],
    meter: { readMeter: async () => ({ powerW: 0, importWh: counters.importWh, exportWh: counters.exportWh }) },
    readAll: async () => [],
  } as unknown as DeviceDriver
  return { counters, driver }
}

describe('a trading site on anvil and the embedded broker', () => {
  let anvil: Anvil
  let lm: LocalMarket
  let broker: EmbeddedBroker
  let topics: MarketTopics
  const passwords: Record<string, string> = {}
  const nodes: LiveNode[] = []
  const stops: (() => Promise<void>)[] = []
  // site 2: this test's trading site, registered with keys sealed in key files
  const ownerKey = generatePrivateKey()
  const meterKey = generatePrivateKey()
  const siteId = 2
  let dataDir: string

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31337 })
    lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 2, config: { intervalSec: 60n, settleWindowSec: 3_600n, disputeWindowSec: 60n } })
    const owner = privateKeyToAccount(ownerKey)
    const meter = privateKeyToAccount(meterKey)
    await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [owner.address, meter.address, 20_000, 20_000] })
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, 1_000_000_000n] })
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, 1_000_000_000n] })
    const last = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [siteId, 1_000_000_000n] })
    expect((await lm.client.waitForTransactionReceipt({ hash: last })).status).toBe('success')
    dataDir = mkdtempSync(join(tmpdir(), 'live-site-'))
    mkdirSync(join(dataDir, 'keys'))
    const fast = { N: 1024, r: 8, p: 1 }
    saveKeystore(join(dataDir, 'keys/owner.json'), await encryptKeystore(ownerKey, passphrase, fast))
    saveKeystore(join(dataDir, 'keys/meter.json'), await encryptKeystore(meterKey, passphrase, fast))
    topics = marketTopics(anvil.chainId, lm.market)
    for (const u of ['operator', 'site-0', 'site-1', 'site-2']) passwords[u] = `${u}-${Math.random().toString(36).slice(2)}`
    broker = await startEmbeddedBroker({ users: passwords, topics })
  }, 120_000)
  afterAll(async () => {
    for (const stop of stops) await stop().catch(() => {})
    await Promise.all(nodes.map((n) => n.transport.close().catch(() => {})))
    await broker?.close()
    await anvil?.stop()
  })

  const siteFile = (market: Record<string, unknown>): SiteFile => ({ name: 'trader', devices: [], market: { chain: { rpcUrl: anvil.rpcUrl }, address: lm.market, site: { id: siteId }, broker: { url: broker.url, password: passwords['site-2'] }, ...market } }) as unknown as SiteFile
  const start = async (over: Partial<StartLiveSiteParameters> & { alarms?: [string, string | null][] } = {}) => {
    const alarms = over.alarms ?? []
    const site = await startLiveSite({ site: siteFile({}), dataDir, drivers: [], plan: () => null, tariff: () => tariff, passphrase, tickMs: 200, retry: { firstMs: 60_000, maxMs: 60_000 }, alarm: (key, message) => void alarms.push([key, message]), connectTimeoutMs: 3_000, ...over })
    stops.push(site.stop)
    return site
  }

  it('orders from its plan before the gate, agrees with the clearing, delivers it, signs the meter’s counter deltas once (also across a restart), sees the interval settle, proves a wrong clearing on chain, and proves an order a step forged for it', async () => {
    const clock = createChainClock({ client: lm.client })
    const nowS = () => clock.nowS()
    const lookupSite = createChainSiteLookup({ client: lm.client, market: lm.market })
    const join_ = async (id: number | null) => {
      const node = await connectLiveNode({ broker: { url: broker.url, password: passwords[topics.username(id)]! }, topics, domain: lm.domain, siteId: id, presenceKey: id === null ? lm.operator : lm.sites[id]!.owner, nowS })
      nodes.push(node)
      const validator = createLiveValidator({ domain: lm.domain, topics, operator: lm.operator.address, lookupSite, readingDeadline: (i) => lm.intervalStart(i + 1n) + lm.config.settleWindowSec, nowS })
      return { node, inbox: createLiveInbox({ transport: node.transport, validator }) }
    }
    const interval = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(interval) - 16n)
    await clock.sample()
    const op = await join_(null)
    const onChain = commitOnLocalMarket(lm)
    const operator = createLiveOperator({ inbox: op.inbox, publish: op.node.publish, operator: lm.operator, domain: lm.domain, commit: onChain.commit })
    // the peer, site 0, sells 200 Wh at any price
    const peer = await join_(0)
    const peerSite = createLiveParticipant({
      siteId: 0,
      inbox: peer.inbox,
      publish: peer.node.publish,
      journal: createSigningJournal(mkdtempSync(join(tmpdir(), 'live-peer-'))),
      owner: lm.sites[0]!.owner,
      meter: lm.sites[0]!.meter,
      domain: lm.domain,
      orderFor: (i) => ({ siteId: 0, interval: i, side: SIDE_ASK, energyWh: 200, limitPrice: 1n, deadline: lm.intervalStart(i) }),
    })

    // the trading site: its plan buys 6 kW from the market, 100 Wh per 60 s interval
    const meter = fakeMeter()
    const events: LiveMarketEvent[] = []
    const alarms: [string, string | null][] = []
    const startMs = Number(lm.intervalStart(interval)) * 1000
    const plan = buyingPlan(startMs, 6_000)
    const site = await start({ drivers: [meter.driver], plan: () => plan, alarms })
    site.view.onEvent((e) => events.push(e))
    expect(site.connected()).toBe(true)
    expect(alarms).toEqual([['market:live', null]])
    // the peer's order once the site is on the broker (orders are not retained: a site that joins later cannot recompute this interval)
    await peerSite.placeOrder(interval)
    expect(site.view.status()).toMatchObject({ role: 'site', siteId, community: topics.community, broker: { connected: true, lastError: null }, chain: { chainId: 31337, reachable: true } })

    // 20 % of the interval before the gate: the site's order, from its plan's market column
    const orders = await until('both orders at the operator', () => (op.inbox.orders(interval).length === 2 ? op.inbox.orders(interval) : null))
    expect(orders.map((o) => ({ siteId: o.siteId, side: o.side, energyWh: o.energyWh, limitPrice: o.limitPrice }))).toEqual([
      { siteId: 0, side: SIDE_ASK, energyWh: 200, limitPrice: 1n },
      { siteId, side: 0, energyWh: 100, limitPrice: 300_000n },
    ])
    // the gate closes a tenth of the interval before its start
    await until('the gate', async () => (await clock.sample(), clock.nowS() >= lm.intervalStart(interval) - 6n))
    const closed = await operator.closeGate(interval, lm.intervalStart(interval))
    expect(closed.clearing).toMatchObject({ price: 150_000n, tradedWh: 100 })
    await until('the site agrees with the clearing', () => events.find((e) => e.kind === 'check' && e.interval === String(interval)))
    expect(events.find((e) => e.kind === 'check')!.detail).toBe('agrees: this site buys 100 Wh')
    expect(site.view.ledger().intervals.find((i) => i.interval === String(interval))!.check).toEqual({ agrees: true, detail: 'this site buys 100 Wh' })
    // the control loop delivers the trade in its interval: 100 Wh in 60 s is 6 kW, which the plan in force already carries
    expect(site.market.commitment(startMs + 1_000, plan)).toEqual({ extraExportW: 0, committedW: -6_000 })
    expect(site.market.commitment(startMs + 1_000, null)).toEqual({ extraExportW: -6_000, committedW: -6_000 })
    expect(site.market.commitment(startMs - 1_000, plan)).toBeNull()
    expect(site.market.planMarket(startMs)?.fromMs).toBeGreaterThan(startMs)

    // delivery: the meter's counters at the interval's start edge, 100 Wh imported, the end edge
    const edgesPath = join(dataDir, 'market', 'meter-edges.json')
    await until('the start edge', () => existsSync(edgesPath) && readFileSync(edgesPath, 'utf8').includes(`"interval":"${interval}"`))
    meter.counters.importWh += 100
    meter.counters.exportWh += 0
    await lm.warpTo(lm.intervalStart(interval + 1n) - 2n)
    const reading = await until('the site’s reading at the operator', () => op.inbox.readings(interval).find((r) => r.siteId === siteId))
    expect({ importWh: reading.importWh, exportWh: reading.exportWh }).toEqual({ importWh: 100, exportWh: 0 })
    // the counters moved after the edge: no second reading
    meter.counters.importWh += 999

    // a restart: the recorded reading is re-sent as it was signed, never re-signed
    await site.stop()
    const journalFiles = () => readdirSync(join(dataDir, 'market', 'journal')).filter((f) => f.includes('reading'))
    expect(journalFiles()).toHaveLength(1)
    const duplicatesBefore = op.inbox.validator.counters().duplicate
    const againAlarms: [string, string | null][] = []
    const again = await start({ drivers: [meter.driver], plan: () => plan, alarms: againAlarms })
    const againEvents: LiveMarketEvent[] = []
    again.view.onEvent((e) => againEvents.push(e))
    await until('the reading re-sent after the restart', () => op.inbox.validator.counters().duplicate > duplicatesBefore)
    expect(op.inbox.validator.counters()).toMatchObject({ conflicting: 0, forged: 0 })
    expect(op.inbox.readings(interval).find((r) => r.siteId === siteId)).toEqual(reading)
    expect(journalFiles()).toHaveLength(1)

    // the operator settles with the readings it has; the site sees it at its next interval
    await peerSite.publishReading({ interval, importWh: 0, exportWh: 100 })
    await until('the peer’s reading', () => op.inbox.readings(interval).length === 2)
    const c = onChain.committed.get(interval)!
    const readings = c.encoded.siteIds.map((id) => op.inbox.readings(interval).find((r) => r.siteId === id)!)
    const settleTx = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'settle', args: settleArgs({ clearing: c.encoded, siteRefs: c.siteRefs, readings }) })
    expect((await lm.client.waitForTransactionReceipt({ hash: settleTx })).status).toBe('success')
    await lm.warpTo(lm.intervalStart(interval + 2n) + 1n)
    const settled = await until('the settlement in the site’s ledger', () => again.view.ledger().intervals.find((i) => i.interval === String(interval) && i.settlement.state === 'settled'))
    expect(settled).toMatchObject({ readings: [{ siteId, importWh: 100, exportWh: 0, signature: { r: reading.r, vs: reading.vs } }], settlement: { state: 'settled', settleTx } })

    // the attack: the operator publishes and commits a clearing that is not the auction of the
    // orders (the price at the seller's limit, not the midpoint); the site finds it wrong, raises
    // its alarm, keeps to its local plan and proves it on chain from its owner key
    await lm.test.setBalance({ address: privateKeyToAccount(ownerKey).address, value: 10n ** 18n })
    const wrongAt = interval + 3n
    await lm.warpTo(lm.intervalStart(wrongAt) - 16n)
    await peerSite.placeOrder(wrongAt)
    const wrongOrders = await until('both orders of the next interval', () => (op.inbox.orders(wrongAt).length === 2 ? op.inbox.orders(wrongAt) : null))
    const wrong = { interval: wrongAt, price: 2n, matches: [{ sellerSiteId: 0, buyerSiteId: siteId, energyWh: 100 }], tradedWh: 100 }
    await op.node.publish(await signLiveMessage<Extract<LiveMessage, { kind: 'clearing' }>>(lm.operator, lm.domain, { kind: 'clearing', body: clearingBody(lm.domain, wrong, wrongOrders, lm.intervalStart(wrongAt)) }))
    await onChain.commit(wrong, wrongOrders)
    const alarm = await until('the wrong-clearing alarm', () => againAlarms.find(([key]) => key === 'market:clearing'))
    expect(alarm[1]).toMatch(`interval ${wrongAt}: the operator's clearing is wrong: the clearing is not the auction of the 2 orders it lists`)
    expect(again.market.commitment(Number(lm.intervalStart(wrongAt)) * 1000 + 1_000, null)).toBeNull()
    expect(again.view.ledger().intervals.find((i) => i.interval === String(wrongAt))!.check).toMatchObject({ agrees: false, detail: expect.stringMatching(/not the auction of the 2 orders/) })
    // a dev chain mines only on transactions: blocks go by as on a real chain
    const proven = await until('the proof on chain', async () => (await lm.test.mine({ blocks: 1 }), againEvents.find((e) => e.kind === 'check' && e.detail.startsWith('clearing proof'))), 30_000)
    expect(proven.detail, proven.detail).toBe('clearing proof confirmed')
    const logs = await lm.client.getContractEvents({ address: await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'verifier' }), abi: auctionVerifierAbi, eventName: 'ClearingProven', fromBlock: 0n })
    expect(logs.map((l) => l.args.interval)).toEqual([wrongAt])

    // the attack on a step: a step checks no signature on chain, so the operator commits an
    // order for this site that its owner never signed; the site's step watch finds it, raises
    // its alarm and proves it from its owner key, and the owner is paid out of the operator's bond
    const verifier = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'verifier' })
    const short = (await lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'required' })) - (await lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'bondOf' }))
    for (const [address, abi, functionName, args] of [
      [lm.token, settlementTokenAbi, 'mint', [lm.operator.address, short * lm.config.unit]],
      [lm.token, settlementTokenAbi, 'approve', [verifier, short * lm.config.unit]],
      [verifier, auctionVerifierAbi, 'depositBond', [short]],
    ] as const) {
      if (short <= 0n) break
      const hash = await lm.wallet.writeContract({ address, abi, functionName, args } as never)
      expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')
    }
    const forgedAt = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(forgedAt - 1n))
    const forger = privateKeyToAccount(generatePrivateKey())
    const forgedOrders = [
      await signOrder(lm.sites[0]!.owner, lm.domain, { siteId: 0, interval: forgedAt, side: SIDE_ASK, energyWh: 200, limitPrice: 1n, deadline: lm.intervalStart(forgedAt) }),
      await signOrder(forger, lm.domain, { siteId, interval: forgedAt, side: SIDE_BID, energyWh: 100, limitPrice: 300_000n, deadline: lm.intervalStart(forgedAt) }),
    ]
    const ownerTokens = () => lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [privateKeyToAccount(ownerKey).address] })
    const ownerBefore = await ownerTokens()
    const nothing = { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }
    const forgedClearing = clear(forgedAt, forgedOrders)
    expect(forgedClearing.siteIds).toEqual([0, siteId])
    const stepTx = await stepMarket(lm.wallet, lm.market, { finals: [], settle: nothing, commit: forgedClearing })
    expect((await lm.client.waitForTransactionReceipt({ hash: stepTx })).status).toBe('success')
    const forgery = await until('the forgery alarm', () => againAlarms.find(([key]) => key === 'market:forgery'))
    expect(forgery[1]).toBe(`interval ${forgedAt}: forged order of site ${siteId} committed by step ${stepTx}: not signed by the site's owner; proving it on chain`)
    const forgeryProven = await until('the forgery proof on chain', async () => (await lm.test.mine({ blocks: 1 }), againEvents.find((e) => e.kind === 'check' && e.detail.startsWith('order forgery proof'))), 30_000)
    expect(forgeryProven.detail, forgeryProven.detail).toBe('order forgery proof confirmed')
    const [forgeryLog] = await lm.client.getContractEvents({ address: verifier, abi: auctionVerifierAbi, eventName: 'ForgeryProven', fromBlock: 0n })
    expect(forgeryLog?.args).toMatchObject({ interval: forgedAt, readings: false, forged: 1n })
    expect(await ownerTokens()).toBe(ownerBefore + forgeryLog!.args.compensated! * lm.config.unit)
    // a restart reads the step again: proven already, so no second alarm and no second proof
    await again.stop()
    const restartAlarms: [string, string | null][] = []
    const third = await start({ drivers: [meter.driver], plan: () => plan, alarms: restartAlarms })
    const thirdEvents: LiveMarketEvent[] = []
    third.view.onEvent((e) => thirdEvents.push(e))
    await lm.test.mine({ blocks: 1 })
    await sleep(1_500)
    expect(restartAlarms).toEqual([['market:live', null]])
    expect(thirdEvents.filter((e) => e.kind === 'check' && e.detail.includes('forg'))).toEqual([])
  }, 180_000)

  describe('bad input: named, alarmed, retried, and the site goes on', () => {
    const expectRefused = async (over: Partial<StartLiveSiteParameters>, market: Record<string, unknown>, message: RegExp) => {
      const alarms: [string, string | null][] = []
      const site = await start({ dataDir: mkdtempSync(join(tmpdir(), 'live-bad-')), ...over, site: siteFile(market), alarms })
      expect(site.connected()).toBe(false)
      expect(alarms).toHaveLength(1)
      expect(alarms[0]![0]).toBe('market:live')
      expect(alarms[0]![1]).toMatch(message)
      expect(alarms[0]![1]).toMatch(/runs its local plan and retries/)
      expect(site.view.status().broker.lastError).toMatch(message)
      expect(site.market.planMarket(Date.now())).toBeNull()
      expect(site.market.commitment(Date.now(), null)).toBeNull()
      await site.stop()
    }
    it('no market address', () => expectRefused({}, { address: undefined }, /site file: market\.address: missing/))
    it('no keystore passphrase', async () => {
      const saved = process.env.GRIDMESH_KEYSTORE_PASSPHRASE
      delete process.env.GRIDMESH_KEYSTORE_PASSPHRASE
      try {
        await expectRefused({ passphrase: undefined }, {}, /GRIDMESH_KEYSTORE_PASSPHRASE is not set/)
      } finally {
        if (saved !== undefined) process.env.GRIDMESH_KEYSTORE_PASSPHRASE = saved
      }
    })
    it('a site id the registry does not know', () => expectRefused({ dataDir }, { site: { id: 9 } }, /market\.site\.id: site 9 is not registered in market/))
    it("another site's id (the owner key does not match)", () => expectRefused({ dataDir }, { site: { id: 1 } }, /market\.site\.ownerKeyFile: key of 0x[0-9a-fA-F]{40}; market 0x[0-9a-fA-F]{40} registers site 1 with owner/))
    it('a broker URL that is not one', () => expectRefused({ dataDir }, { broker: { url: 'http://127.0.0.1:1883' } }, /market\.broker: broker url http:\/\/127\.0\.0\.1:1883\/?: scheme http/))
    it('bad TLS files', () => expectRefused({ dataDir }, { broker: { url: 'mqtts://127.0.0.1:8883', caFile: 'no-such-ca.pem' } }, /market\.broker: broker caFile .*no-such-ca\.pem: no such file; expected a PEM file/))
    it('wrong broker credentials', () => expectRefused({ dataDir }, { broker: { url: broker.url, password: 'wrong' } }, /market\.broker: .*bad user name or password/))
    it('a broker that is not there yet: retried until it is', async () => {
      const port = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const { port } = s.address() as { port: number }
          s.close(() => resolve(port))
        })
      })
      const alarms: [string, string | null][] = []
      const site = await start({ dataDir, site: siteFile({ broker: { url: `mqtt://127.0.0.1:${port}`, password: passwords['site-2'] } }), retry: { firstMs: 500, maxMs: 1_000 }, alarms })
      expect(site.connected()).toBe(false)
      expect(alarms[0]![1]).toMatch(new RegExp(`market\\.broker: .*127\\.0\\.0\\.1:${port}`))
      const late = await startEmbeddedBroker({ port, users: passwords, topics })
      try {
        await until('the site joins once the broker is up', () => site.connected())
        expect(alarms.at(-1)).toEqual(['market:live', null])
      } finally {
        await site.stop()
        await late.close()
      }
    }, 60_000)
  })
})
