// A step (marketStep) commits and settles without checking signatures: it binds the step's
// signed orders and readings (EnergyMarket._orderSigs, _readingSigs) and anyone proves a forged
// one in AuctionVerifier within the dispute window. These are the attacks of an operator that
// relies on that: an order its site never signed, a reading its meter never signed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEventLogs } from 'viem'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { auctionVerifierAbi, energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { committedSiteRefs } from '../../core/chain/committedSiteRefs.ts'
import { orderForgeryArgs, orderSignedBy, readingForgeryArgs, settlementProofArgs } from '../../core/chain/proveForgery.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { encodeStep, stepMarket } from '../../core/chain/stepMarket.ts'
import type { EncodedClearing } from '../../core/market/encodeClearing.ts'
import { signMeterReading, signOrder, type SignedMeterReading } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, exactDelivery, revertName, signOrders, signReadings, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { createStepWatch } from '../../core/trading/createStepWatch.ts'

let anvil: Anvil
let lm: LocalMarket
let verifier: `0x${string}`

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 4, config: { settleWindowSec: 1_800n, disputeWindowSec: 3_600n } })
  verifier = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'verifier' })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

const specs: OrderSpec[] = [
  { site: 0, side: SIDE_ASK, energyWh: 2000, limitPrice: 90_000n },
  { site: 1, side: SIDE_BID, energyWh: 1500, limitPrice: 180_000n },
  { site: 2, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n },
  { site: 3, side: SIDE_BID, energyWh: 1200, limitPrice: 160_000n },
]
const nothing = { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }
const owners = (c: EncodedClearing) => c.siteIds.map((id) => lm.sites[id]!.owner.address)
const tokenOf = (a: `0x${string}`) => lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [a] })
const operatorBond = () => lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'bondOf' })

async function mined(hash: Promise<`0x${string}`>) {
  const receipt = await lm.client.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** Committed intervals the tests leave unsettled: expired before their ring slots come round. */
const open: { clearing: EncodedClearing; siteRefs: bigint[] }[] = []

/** Steps a commit of `clearing` (nothing settled) two intervals ahead; its refs. */
async function stepCommit(clearing: EncodedClearing) {
  const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: nothing, commit: clearing }))
  return committedSiteRefs(lm.client, lm.market, clearing, receipt)
}

async function expireOpen() {
  for (const { clearing, siteRefs } of open.splice(0)) {
    const [status] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [clearing.interval] })
    if (status !== 1) continue
    const closesAt = lm.intervalStart(clearing.interval + 1n) + lm.config.settleWindowSec
    if ((await lm.client.getBlock()).timestamp < closesAt) await lm.warpTo(closesAt)
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'expire', args: [clearing.interval, clearing.price, siteRefs, clearing.matches] }))
  }
}

/** The operator tops its bond up to what commits need after a proof took part of it. */
async function restoreBond() {
  const short = (await lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'required' })) - (await operatorBond())
  if (short <= 0n) return
  const amount = short * lm.config.unit
  await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, amount] }))
  await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [verifier, amount] }))
  await mined(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'depositBond', args: [short] }))
}

async function nextCommittable(): Promise<bigint> {
  await expireOpen()
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

/** The interval's signed orders with site 3's signed by a key of the operator's own instead of its owner's. */
async function forgeSite3Order(interval: bigint) {
  const signed = await signOrders(lm, interval, specs)
  const forger = privateKeyToAccount(generatePrivateKey())
  const { r, vs, ...order } = signed[3]!
  void r
  void vs
  signed[3] = await signOrder(forger, lm.domain, order)
  return { signed, forger }
}

/**
 * A committed interval after delivery, with its meters' true readings and the readings a
 * dishonest operator steps instead: seller 0 as having delivered nothing (it pays the penalty,
 * its buyers pay nothing), a reading its own key signed.
 */
async function forgeSite0Reading() {
  const { interval, clearing, siteRefs, readings: truth } = await deliveredInterval()
  const forger = privateKeyToAccount(generatePrivateKey())
  const pos = clearing.siteIds.indexOf(0)
  const stepped: SignedMeterReading[] = [...truth]
  stepped[pos] = await signMeterReading(forger, lm.domain, { siteId: 0, interval, importWh: 0, exportWh: 0 })
  return { interval, clearing, siteRefs, truth, stepped, pos }
}

/** A committed interval after delivery, with its meters' true readings. */
async function deliveredInterval() {
  const interval = await nextCommittable()
  const clearing = clear(interval, await signOrders(lm, interval, specs))
  const siteRefs = await stepCommit(clearing)
  await lm.warpTo(lm.intervalStart(interval + 1n))
  return { interval, clearing, siteRefs, readings: await signReadings(lm, clearing, exactDelivery(clearing)) }
}

/** After the dispute window, the interval finalizes with the releases of its honest readings (the forged ones no longer bound). */
async function finalizeHonest(clearing: EncodedClearing, siteRefs: bigint[], truth: SignedMeterReading[]) {
  const honest = buildFinalization({ clearing, siteRefs, readings: truth, penaltyBps: lm.config.penaltyBps })
  const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [clearing.interval] })
  await restoreBond()
  await lm.warpTo(settledAt + lm.config.disputeWindowSec)
  await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [clearing.interval, honest.inputsHash, honest.releases] }))
}

describe('a step checks no signature; a forged one is proven', () => {
  it('an order its site never signed: the step takes it, the site proves it and is paid its lock plus a site bond from the operator\'s bond; an honest step cannot be proven', async () => {
    const interval = await nextCommittable()
    // the operator makes site 3 a buyer at its limit with a key of its own
    const { signed, forger } = await forgeSite3Order(interval)
    const clearing = clear(interval, signed)
    expect(await orderSignedBy(lm.domain, clearing.orders[3]!, lm.sites[3]!.owner.address)).toBe(false)
    expect(await orderSignedBy(lm.domain, clearing.orders[0]!, lm.sites[0]!.owner.address)).toBe(true)
    // the step goes through: it does not check signatures (commitClearing would refuse it)
    const siteRefs = await stepCommit(clearing)
    open.push({ clearing, siteRefs })
    const bondBefore = await operatorBond()
    const ownerBefore = await tokenOf(lm.sites[3]!.owner.address)
    const args = orderForgeryArgs({ clearing, siteRefs, owners: owners(clearing) })
    // a wrong owner tag does not match what the step bound
    const wrong = orderForgeryArgs({ clearing, siteRefs, owners: [...owners(clearing).slice(0, 3), forger.address] })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args: wrong }))).toBe('SignaturesMismatch')
    const prover = lm.walletFor(lm.sites[3]!.owner)
    const receipt = await mined(prover.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args }))
    const [proven] = parseEventLogs({ abi: auctionVerifierAbi, logs: receipt.logs, eventName: 'ForgeryProven' })
    expect(proven?.args.forged).toBe(1n)
    // site 3's lock: what it bought x price x (1 + max(penalty, 100 %)), plus one site bond
    const bought = clearing.matches.filter((m) => Number((m >> 32n) & 0xffn) === 3).reduce((a, m) => a + (m & 0xffffffffn), 0n)
    expect(bought).toBeGreaterThan(0n)
    const buyerBps = lm.config.penaltyBps < 10_000n ? 10_000n : lm.config.penaltyBps
    const lock = (bought * clearing.price * (10_000n + buyerBps)) / 10_000_000n
    const paid = lock + lm.config.bond
    expect(proven?.args.compensated).toBe(paid)
    expect(await tokenOf(lm.sites[3]!.owner.address)).toBe(ownerBefore + paid * lm.config.unit)
    expect(await operatorBond()).toBe(bondBefore - paid)
    // once per interval
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args }))).toBe('AlreadyProven')

    // an honest step: nothing to prove (the operator restores its bond first: no commit without it)
    await restoreBond()
    const honestAt = await nextCommittable()
    const honest = clear(honestAt, await signOrders(lm, honestAt, specs))
    const honestRefs = await stepCommit(honest)
    open.push({ clearing: honest, siteRefs: honestRefs })
    const honestArgs = orderForgeryArgs({ clearing: honest, siteRefs: honestRefs, owners: owners(honest) })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveOrderForgery', args: honestArgs }))).toBe('NothingForged')
  })

  it('a reading its meter never signed: the step settles with it, the site proves it with its meter\'s reading, the interval is settled again and the site is paid a site bond', async () => {
    const { interval, clearing, siteRefs, truth, stepped, pos } = await forgeSite0Reading()
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    const receipt0 = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings: stepped }, commit: next }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt0) })
    const forged = buildFinalization({ clearing, siteRefs, readings: stepped, penaltyBps: lm.config.penaltyBps })
    const honest = buildFinalization({ clearing, siteRefs, readings: truth, penaltyBps: lm.config.penaltyBps })
    expect(forged.releases).not.toEqual(honest.releases)

    // proving with a "fix" that is not the meter's reading, or changing an honest reading, is refused
    const badFix = readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash: forged.releasesHash, fixed: stepped })
    // leaving the forged reading as it is proves nothing (a forged reading may stay for a later proof)
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: badFix }))).toBe('NothingForged')
    const notTheMeters = [...stepped]
    notTheMeters[pos] = await signMeterReading(privateKeyToAccount(generatePrivateKey()), lm.domain, { siteId: 0, interval, importWh: 0, exportWh: 1 })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash: forged.releasesHash, fixed: notTheMeters }) }))).toBe('ReadingNotFixed')
    const other = [...truth]
    other[(pos + 1) % truth.length] = await signMeterReading(lm.sites[clearing.siteIds[(pos + 1) % truth.length]!]!.meter, lm.domain, { siteId: clearing.siteIds[(pos + 1) % truth.length]!, interval, importWh: 1, exportWh: 1 })
    const changed = readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash: forged.releasesHash, fixed: other })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: changed }))).toBe('ReadingNotFixed')

    const ownerBefore = await tokenOf(lm.sites[0]!.owner.address)
    const args = readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash: forged.releasesHash, fixed: truth })
    const receipt = await mined(lm.walletFor(lm.sites[0]!.owner).writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args }))
    const [proven] = parseEventLogs({ abi: auctionVerifierAbi, logs: receipt.logs, eventName: 'ForgeryProven' })
    expect(proven?.args.readings).toBe(true)
    expect(proven?.args.compensated).toBe(lm.config.bond)
    expect(await tokenOf(lm.sites[0]!.owner.address)).toBe(ownerBefore + lm.config.bond * lm.config.unit)
    // the record now holds the honest settlement: the forged one no longer finalizes, the honest one does
    await restoreBond()
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    expect(await revertName(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [interval, forged.inputsHash, forged.releases] }))).toBe('SettlementMismatch')
    const before = await Promise.all(clearing.siteIds.map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [interval, honest.inputsHash, honest.releases] }))
    const after = await Promise.all(clearing.siteIds.map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
    expect(after.map((b, k) => b - before[k]!)).toEqual(honest.releases.map((w) => w & 0xffffffffffffffffn))
  })

  it('an honest step\'s readings cannot be proven forged, and the proof closes with the dispute window', async () => {
    const { interval, clearing, siteRefs, readings } = await deliveredInterval()
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings }, commit: next }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt) })
    const f = buildFinalization({ clearing, siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const args = readingForgeryArgs({ clearing, siteRefs, stepped: readings, releasesHash: f.releasesHash, fixed: readings })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args }))).toBe('NothingForged')
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args }))).toBe('ProofWindowClosed')
  })
})

describe('the step watch every trading site runs (createStepWatch) finds a forged order or reading and proves it', () => {
  /** A watch as site `siteId` runs it; its proofs are sent at once from `prover`'s wallet. */
  async function watchAs(siteId: number, readings: { own?: SignedMeterReading[]; peer?: SignedMeterReading[] } = {}, fromBlock?: bigint) {
    const reports: { interval: bigint; detail: string; forged: boolean }[] = []
    const sent: `0x${string}`[] = []
    const proofs: Promise<unknown>[] = []
    const watch = createStepWatch({
      client: lm.client,
      market: lm.market,
      verifier,
      domain: lm.domain,
      penaltyBps: lm.config.penaltyBps,
      fromBlock: fromBlock ?? (await lm.client.getBlockNumber({ cacheTime: 0 })) + 1n,
      siteId,
      ownReading: (i) => readings.own?.find((r) => r.interval === i && r.siteId === siteId) ?? null,
      peerReading: (i, id) => readings.peer?.find((r) => r.interval === i && r.siteId === id) ?? null,
      provable: () => true,
      prove: (key, tx) => {
        proofs.push(lm.walletFor(lm.sites[siteId]!.owner).sendTransaction({ to: tx.to, data: tx.data }).then(async (hash) => sent.push((await lm.client.waitForTransactionReceipt({ hash })).status === 'success' ? hash : `0x${key}`)))
      },
      report: (interval, detail, forged) => void reports.push({ interval, detail, forged }),
    })
    return { watch, reports, sent, settle: () => Promise.all(proofs.splice(0)) }
  }

  it('an honest step raises nothing; an order another site never signed is proven by a third site, and its owner is paid', async () => {
    await restoreBond()
    const w = await watchAs(1)
    const honestAt = await nextCommittable()
    const honest = clear(honestAt, await signOrders(lm, honestAt, specs))
    open.push({ clearing: honest, siteRefs: await stepCommit(honest) })
    await w.watch.poll()
    expect(w.reports).toEqual([])

    const interval = await nextCommittable()
    const { signed } = await forgeSite3Order(interval)
    const clearing = clear(interval, signed)
    open.push({ clearing, siteRefs: await stepCommit(clearing) })
    const ownerBefore = await tokenOf(lm.sites[3]!.owner.address)
    await w.watch.poll()
    await w.settle()
    expect(w.reports).toEqual([{ interval, forged: true, detail: expect.stringMatching(/^forged order of site 3 committed by step 0x[0-9a-f]{64}: not signed by the site's owner; proving it on chain$/) }])
    expect(w.sent).toHaveLength(1)
    expect(w.sent[0]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await tokenOf(lm.sites[3]!.owner.address)).toBeGreaterThan(ownerBefore)
    // read once: a second poll finds nothing new; a site that reads the same steps later
    // (a restart, or one that was offline) finds it proven and raises nothing
    await w.watch.poll()
    expect(w.reports).toHaveLength(1)
    const late = await watchAs(2, {}, 0n)
    await late.watch.poll()
    expect(late.reports).toEqual([])
  })

  it('a forged reading of this site is proven with the reading its meter signed; a site without that reading says it cannot prove it', async () => {
    await restoreBond()
    const { interval, clearing, siteRefs, truth, stepped } = await forgeSite0Reading()
    const site0 = await watchAs(0, { own: truth })
    const site2 = await watchAs(2)
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings: stepped }, commit: next }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt) })
    const ownerBefore = await tokenOf(lm.sites[0]!.owner.address)
    await site2.watch.poll()
    expect(site2.reports).toEqual([{ interval, forged: true, detail: expect.stringMatching(/^forged reading of site 0 settled by step 0x[0-9a-f]{64}; this site holds no meter-signed reading to replace it with, so it cannot prove it/) }])
    await site0.watch.poll()
    await site0.settle()
    expect(site0.reports).toEqual([{ interval, forged: true, detail: expect.stringMatching(/^forged reading of site 0 settled by step 0x[0-9a-f]{64}: not signed by the meter; proving it on chain with the meter's own reading$/) }])
    expect(site0.sent[0]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await tokenOf(lm.sites[0]!.owner.address)).toBe(ownerBefore + lm.config.bond * lm.config.unit)
    const late = await watchAs(0, { own: truth }, receipt.blockNumber)
    await late.watch.poll()
    expect(late.reports).toEqual([])
    // the interval now finalizes with the honest readings
    await finalizeHonest(clearing, siteRefs, truth)
  })

  it('two forged readings, one whose meter reading nobody holds (its site was offline): the other is proven alone, the second later by its own site; a proof cannot swap an honest reading\'s signature', async () => {
    await restoreBond()
    const { interval, clearing, siteRefs, truth, stepped, pos } = await forgeSite0Reading()
    const pos1 = clearing.siteIds.indexOf(1)
    const honestPos = clearing.siteIds.findIndex((id) => id !== 0 && id !== 1)
    expect(pos1).toBeGreaterThanOrEqual(0)
    expect(honestPos).toBeGreaterThanOrEqual(0)
    stepped[pos1] = await signMeterReading(privateKeyToAccount(generatePrivateKey()), lm.domain, { siteId: 1, interval, importWh: 0, exportWh: 0 })
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings: stepped }, commit: next }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt) })
    // the attack on the proof: fix site 0 and give an honest reading another valid-looking
    // signature (same values): it would stay bound, and a later "proof" of it would pay twice
    const forged = buildFinalization({ clearing, siteRefs, readings: stepped, penaltyBps: lm.config.penaltyBps })
    const swapped = [...stepped]
    swapped[pos] = truth[pos]!
    swapped[honestPos] = { ...truth[honestPos]!, r: truth[pos]!.r, vs: truth[pos]!.vs }
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveReadingForgery', args: readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash: forged.releasesHash, fixed: swapped }) }))).toBe('ReadingNotFixed')

    // site 0's watch holds its own reading only (site 1 was offline: nobody has its meter's)
    const site0 = await watchAs(0, { own: truth }, receipt.blockNumber)
    await site0.watch.poll()
    await site0.settle()
    expect(site0.reports).toEqual([
      { interval, forged: true, detail: expect.stringMatching(/^forged reading of site 1 settled by step 0x[0-9a-f]{64}; this site holds no meter-signed reading to replace it with, so it cannot prove it/) },
      { interval, forged: true, detail: expect.stringMatching(/^forged reading of site 0 settled by step 0x[0-9a-f]{64}: not signed by the meter; proving it on chain/) },
    ])
    expect(site0.sent[0]).toMatch(/^0x[0-9a-f]{64}$/)
    // site 1 comes back: its watch reads the readings the first proof left bound and fixes its own
    const owner1Before = await tokenOf(lm.sites[1]!.owner.address)
    const site1 = await watchAs(1, { own: truth }, receipt.blockNumber)
    await site1.watch.poll()
    await site1.settle()
    expect(site1.reports).toEqual([{ interval, forged: true, detail: expect.stringMatching(/^forged reading of site 1 settled by step 0x[0-9a-f]{64}: not signed by the meter; proving it on chain/) }])
    expect(site1.sent[0]).toMatch(/^0x[0-9a-f]{64}$/)
    expect(await tokenOf(lm.sites[1]!.owner.address)).toBe(owner1Before + lm.config.bond * lm.config.unit)
    // nothing forged is left: a later reader raises nothing, and the honest settlement finalizes
    const late = await watchAs(2, {}, receipt.blockNumber)
    await late.watch.poll()
    expect(late.reports).toEqual([])
    await finalizeHonest(clearing, siteRefs, truth)
  })

  it('releases that are not the settlement of the readings: the step binds them as sent; a site\'s watch proves them wrong, the shorted site is paid a site bond, and the interval finalizes with the right releases', async () => {
    await restoreBond()
    const { interval, clearing, siteRefs, readings } = await deliveredInterval()
    const right = buildFinalization({ clearing, siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    // the operator moves seller 0's income to buyer 1 (the total stays: no check on the sum can see it)
    const sp = clearing.siteIds.indexOf(0)
    const bp = clearing.siteIds.indexOf(1)
    const income = right.releases[sp]! & 0xffffffffffffffffn
    expect(income).toBeGreaterThan(0n)
    const releases = [...right.releases]
    releases[sp] = releases[sp]! - income
    releases[bp] = releases[bp]! + income
    const site2 = await watchAs(2)
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    // what the step does check: the clearing it names by hash, and each reading's interval
    expect(await revertName(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing: { ...clearing, price: clearing.price + 1n }, siteRefs, readings, releases }, commit: next }))).toBe('ClearingMismatch')
    const stale = [...readings]
    stale[sp] = await signMeterReading(lm.sites[0]!.meter, lm.domain, { siteId: 0, interval: interval - 1n, importWh: 0, exportWh: 0 })
    expect(await revertName(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings: stale, releases }, commit: next }))).toBe('ReadingWrongInterval')
    // the right clearing hash with the last site left out (one release and one reading fewer):
    // no proof could name the missing site, so the count must be the commit's
    const n = siteRefs.length
    const words = encodeStep({ finals: [], settle: { clearing, siteRefs, readings, releases }, commit: next }).slice(2).match(/.{64}/g)!
    const head = BigInt(`0x${words[0]}`) - (1n << 240n)
    const short = [head.toString(16).padStart(64, '0'), ...words.slice(1, 1 + n), ...words.slice(2 + n, 2 + n + 3 * (n - 1)), ...words.slice(2 + 4 * n)]
    expect(await revertName(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: `0x${short.join('')}` }))).toBe('ClearingMismatch')
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings, releases }, commit: next, penaltyBps: lm.config.penaltyBps }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt) })
    // the releases bound are the step's: a proof naming the right ones does not match the record,
    // and the right ones do not finalize
    const proveWith = (r: readonly bigint[]) => lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveSettlement', args: settlementProofArgs({ clearing, siteRefs, stepped: readings, releases: r }) })
    expect(await revertName(proveWith(right.releases))).toBe('ClearingMismatch')
    // site 2, a bystander, reads the step, proves it, and the shorted seller is paid
    const owner0Before = await tokenOf(lm.sites[0]!.owner.address)
    const owner1Before = await tokenOf(lm.sites[1]!.owner.address)
    const bondBefore = await operatorBond()
    await site2.watch.poll()
    await site2.settle()
    expect(site2.reports).toEqual([{ interval, forged: true, detail: expect.stringMatching(/^wrong releases of sites 0, 1 bound by step 0x[0-9a-f]{64}: not the settlement of the readings; proving it on chain$/) }])
    expect(site2.sent).toHaveLength(1)
    expect(site2.sent[0]).toMatch(/^0x[0-9a-f]{64}$/)
    const proof = await lm.client.getTransactionReceipt({ hash: site2.sent[0]! })
    const [proven] = parseEventLogs({ abi: auctionVerifierAbi, logs: proof.logs, eventName: 'SettlementProven' })
    expect(proven?.args).toEqual({ interval, wrong: 2n, compensated: lm.config.bond })
    expect(await tokenOf(lm.sites[0]!.owner.address)).toBe(owner0Before + lm.config.bond * lm.config.unit)
    expect(await tokenOf(lm.sites[1]!.owner.address)).toBe(owner1Before) // overpaid: only corrected
    expect(await operatorBond()).toBe(bondBefore - lm.config.bond)
    // proven once: the record now binds the right releases (NothingForged for the same proof,
    // ClearingMismatch for the step's), and a late watcher raises nothing
    expect(await revertName(proveWith(releases))).toBe('ClearingMismatch')
    expect(await revertName(proveWith(right.releases))).toBe('NothingForged')
    const late = await watchAs(3, {}, receipt.blockNumber)
    await late.watch.poll()
    expect(late.reports).toEqual([])
    // the step's releases no longer finalize; the right ones do
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await restoreBond()
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    expect(await revertName(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [interval, right.inputsHash, releases] }))).toBe('SettlementMismatch')
    await finalizeHonest(clearing, siteRefs, readings)
  })

  it('an honest step\'s releases cannot be proven wrong', async () => {
    await restoreBond()
    const { interval, clearing, siteRefs, readings } = await deliveredInterval()
    const w = await watchAs(1, { own: readings })
    const next = clear(interval + 2n, await signOrders(lm, interval + 2n, specs))
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: { clearing, siteRefs, readings }, commit: next }))
    open.push({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt) })
    await w.watch.poll()
    expect(w.reports).toEqual([])
    const right = buildFinalization({ clearing, siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const args = settlementProofArgs({ clearing, siteRefs, stepped: readings, releases: right.releases })
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveSettlement', args }))).toBe('NothingForged')
    await finalizeHonest(clearing, siteRefs, readings)
  })
})
