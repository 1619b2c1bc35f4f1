// Issue 14, attack 8 (operator discretion): the operator commits a clearing that is not the
// deterministic auction of the orders it committed. Against the contract before the fix the
// operator's clearings below went through and nothing could prove them (no verifier, no
// operator bond; an included unmatched order was refused as UnmatchedOrder, so the operator
// simply dropped it). Now the commit binds every included order and AuctionVerifier proves it.
import fc from 'fast-check'
import { parseEventLogs } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { auctionVerifierAbi, energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { committedSiteRefs } from '../../core/chain/committedSiteRefs.ts'
import { deployMarket, OperatorBondError } from '../../core/chain/deployMarket.ts'
import { clearingProofCommitment, proveClearing, proveClearingArgs } from '../../core/chain/proveClearing.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { stepMarket } from '../../core/chain/stepMarket.ts'
import { checkClearing } from '../../core/market/checkClearing.ts'
import { clearAuction } from '../../core/market/clearAuction.ts'
import { encodeClearing, packSiteRef, type EncodedClearing } from '../../core/market/encodeClearing.ts'
import { SIDE_ASK, SIDE_BID, type Order } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, revertName, signOrders, signReadings, type Committed, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

let anvil: Anvil
let lm: LocalMarket
let verifier: `0x${string}`

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 6, config: { ringSize: 512n } })
  verifier = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'verifier' })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

const p = (eurPerKWh: number) => BigInt(Math.round(eurPerKWh * 1e6))
const read = <F extends 'bondOf' | 'required' | 'exitAt'>(functionName: F) =>
  lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName })
const tokenOf = (address: `0x${string}`) => lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [address] })
const ownerOf = (site: number) => lm.sites[site]!.owner.address

async function mined(hash: Promise<`0x${string}`>) {
  const receipt = await lm.client.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** The next interval that can be committed, with chain time at the start of the one before. */
async function nextCommittable(): Promise<bigint> {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

/** A clearing the operator makes up: `siteIds` are the committed orders' sites (ascending),
 * matches [seller, buyer, Wh] by site id. */
async function madeUp(interval: bigint, specs: readonly OrderSpec[], price: bigint, trades: [number, number, number][]): Promise<EncodedClearing> {
  const orders = (await signOrders(lm, interval, specs)).sort((a, b) => a.siteId - b.siteId)
  const siteIds = orders.map((o) => o.siteId)
  const pos = (id: number) => BigInt(siteIds.indexOf(id))
  const matches = trades.map(([s, b, e]) => (pos(s) << 40n) | (pos(b) << 32n) | BigInt(e))
  return { interval, price, siteIds, orders, matches }
}

/** Re-posts what a proof took, so the operator commits again (minted to it here). */
async function restoreBond() {
  const missing = (await read('required')) - (await read('bondOf'))
  if (missing <= 0n) return
  await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, missing] }))
  await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [verifier, missing] }))
  await mined(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'depositBond', args: [missing] }))
}

const proof = (c: Committed) => ({ verifier, clearing: c.clearing, siteRefs: c.siteRefs })

describe('8. operator discretion: a clearing that is not the auction of its orders is proven', () => {
  it('the operator leaves the cheaper honest ask unmatched and sells to the buyer at its limit itself: proven; the honest sites get their surplus from its bond, the reporter the reward, and it commits again only with its bond restored', async () => {
    // site 0 (honest) asks 0.10, site 1 (honest) bids 0.30, site 2 (the operator's) asks 0.30;
    // the auction: site 0 sells to site 1 at 0.20
    const interval = await nextCommittable()
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.3) },
      { site: 2, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.3) },
    ]
    const clearing = await madeUp(interval, specs, p(0.3), [[2, 1, 1000]])
    const c = await commit(lm, clearing) // the contract checks only that the clearing is valid
    const check = checkClearing(c.clearing.orders, c.clearing)
    expect(check.honest).toBe(false)
    expect(check.expected.price).toBe(p(0.2))
    expect(check.expected.matches).toEqual([{ sellerSiteId: 0, buyerSiteId: 1, energyWh: 1000 }])

    const bondBefore = await read('bondOf')
    const before = await Promise.all([0, 1, 2].map((s) => tokenOf(ownerOf(s))))
    // the buyer proves it (commit, then reveal from a later block)
    const receipt = await mined(proveClearing(lm.walletFor(lm.sites[1]!.owner), lm.client, proof(c)))
    const after = await Promise.all([0, 1, 2].map((s) => tokenOf(ownerOf(s))))
    // each honest site gets what the auction would have given it at its own limit:
    // seller 0: (0.20 - 0.10) * 1 kWh, buyer 1: (0.30 - 0.20) * 1 kWh; the operator's site nothing
    const surplus = p(0.1)
    const reward = lm.config.bond
    expect(after.map((a, i) => a - before[i]!)).toEqual([surplus, surplus + reward, 0n])
    expect(await read('bondOf')).toBe(bondBefore - 2n * surplus - reward)
    const [proven] = parseEventLogs({ abi: auctionVerifierAbi, logs: receipt.logs, eventName: 'ClearingProven' })
    expect(proven!.args).toEqual({ interval, reporter: lm.sites[1]!.owner.address, compensated: 2n * surplus, rewarded: reward })
    expect(await lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proven', args: [interval] })).toBe(true)

    // slashed below its required bond, the operator cannot commit until it restores it
    const next = await nextCommittable()
    const honest = clear(next, await signOrders(lm, next, specs))
    expect(await revertName(commit(lm, honest))).toBe('OperatorBondNotPosted')
    await restoreBond()
    await commit(lm, honest)
  })

  it('the operator trades its own ask at the buyer\'s limit instead of the auction\'s price: proven after settlement, within the dispute window; the trade and its settlement stand', async () => {
    const interval = await nextCommittable()
    const specs: OrderSpec[] = [
      { site: 3, side: SIDE_BID, energyWh: 2000, limitPrice: p(0.3) },
      { site: 4, side: SIDE_ASK, energyWh: 2000, limitPrice: p(0.1) },
    ]
    const c = await commit(lm, await madeUp(interval, specs, p(0.3), [[4, 3, 2000]]))
    expect(checkClearing(c.clearing.orders, c.clearing).differences).toEqual([`price ${p(0.3)}; the auction's ${p(0.2)}`])
    await lm.warpTo(lm.intervalStart(interval + 1n))
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const buyer = lm.walletFor(lm.sites[3]!.owner)
    // a settled interval needs the settlement's hashes: without them the record does not match
    await mined(buyer.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'commitProof', args: [clearingProofCommitment(lm.sites[3]!.owner.address, interval)] }))
    expect(await revertName(buyer.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args: proveClearingArgs(proof(c)) }))).toBe('ClearingMismatch')
    const before = await tokenOf(ownerOf(3))
    await mined(buyer.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args: proveClearingArgs({ ...proof(c), settlement: f }) }))
    // the buyer paid 0.30 for 2 kWh; the auction's price was 0.20: 2 * 0.10 back, and the reward
    expect((await tokenOf(ownerOf(3))) - before).toBe(2n * p(0.1) + lm.config.bond)
    // the settlement stands: it finalizes as settled
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [interval, f.inputsHash, f.releases] }))
    await restoreBond()
  })

  it('a proof after the dispute window is refused', async () => {
    const interval = await nextCommittable()
    const specs: OrderSpec[] = [
      { site: 3, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.3) },
      { site: 4, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
    ]
    const c = await commit(lm, await madeUp(interval, specs, p(0.3), [[4, 3, 1000]]))
    await lm.warpTo(lm.intervalStart(interval + 1n))
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    expect(await revertName(proveClearing(lm.walletFor(lm.sites[3]!.owner), lm.client, { ...proof(c), settlement: f }))).toBe('ProofWindowClosed')
  })

  it('a copy of a revealed proof gets nothing: without its own commitment from an earlier block it is refused, and once the proof is in, the interval is proven', async () => {
    const interval = await nextCommittable()
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.4) },
      { site: 5, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const c = await commit(lm, await madeUp(interval, specs, p(0.4), [[5, 0, 1000]]))
    const reporter = lm.walletFor(lm.sites[0]!.owner)
    const copier = lm.walletFor(lm.sites[2]!.owner)
    const args = proveClearingArgs(proof(c))
    await mined(reporter.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'commitProof', args: [clearingProofCommitment(lm.sites[0]!.owner.address, interval)] }))
    // the copier sees the reveal in the mempool: with automine off both land in one block
    await lm.test.setAutomine(false)
    try {
      const reveal = await reporter.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args, gas: 2_000_000n })
      const copyCommit = await copier.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'commitProof', args: [clearingProofCommitment(lm.sites[2]!.owner.address, interval)], gas: 100_000n })
      const copy = await copier.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args, gas: 2_000_000n })
      await lm.test.mine({ blocks: 1 })
      const [r1, r2, r3] = await Promise.all([reveal, copyCommit, copy].map((hash) => lm.client.waitForTransactionReceipt({ hash })))
      expect([r1!.status, r2!.status, r3!.status]).toEqual(['success', 'success', 'reverted'])
    } finally {
      await lm.test.setAutomine(true)
    }
    // a later reveal of the copier's now older commitment: the interval was proven already
    expect(await revertName(copier.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args }))).toBe('AlreadyProven')
    // and without any commitment
    const outsider = lm.walletFor(lm.sites[4]!.owner)
    expect(await revertName(outsider.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args }))).toBe('ProofNotCommitted')
    await restoreBond()
  })

  it('what it cannot prove: an order the operator never committed (data availability; see contracts/README.md)', async () => {
    // the same theft as the first test with the cheaper honest ask left out of the commit:
    // the auction of the committed orders is the operator's clearing
    const interval = await nextCommittable()
    const specs: OrderSpec[] = [
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.3) },
      { site: 2, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.3) },
    ]
    const c = await commit(lm, await madeUp(interval, specs, p(0.3), [[2, 1, 1000]]))
    expect(checkClearing(c.clearing.orders, c.clearing).honest).toBe(true)
    expect(await revertName(proveClearing(lm.walletFor(lm.sites[0]!.owner), lm.client, proof(c)))).toBe('ClearingIsTheAuctions')
  })

  it('the operator\'s bond stays while its intervals can be proven: a withdrawal stops its commits at once and pays only after the exit delay', async () => {
    const bond = await read('bondOf')
    await mined(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'requestBondWithdrawal' }))
    const exitAt = await read('exitAt')
    const { timestamp } = await lm.client.getBlock()
    expect(exitAt - timestamp).toBe(3n * lm.config.intervalSec + lm.config.settleWindowSec + lm.config.disputeWindowSec)
    const next = await nextCommittable()
    const honest = clear(next, await signOrders(lm, next, [
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.3) },
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
    ]))
    expect(await revertName(commit(lm, honest))).toBe('OperatorBondNotPosted')
    expect(await revertName(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'withdrawBond', args: [bond] }))).toBe('BondLocked')
    // someone else's deposit neither cancels the withdrawal nor re-admits the operator's commits
    // (else a unit deposited now and then would keep the bond locked for good)
    const stranger = lm.walletFor(lm.sites[5]!.owner)
    await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.sites[5]!.owner.address, 1n] }))
    await mined(stranger.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [verifier, 1n] }))
    await mined(stranger.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'depositBond', args: [1n] }))
    expect(await read('exitAt')).toBe(exitAt)
    expect(await revertName(commit(lm, honest))).toBe('OperatorBondNotPosted')
    // the operator's own deposit cancels its withdrawal and it commits again
    await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, 1n] }))
    await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [verifier, 1n] }))
    await mined(lm.wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'depositBond', args: [1n] }))
    expect(await read('exitAt')).toBe(0n)
    await commit(lm, honest)
  })
})

describe('8. unmatched orders in a commit', () => {
  it('a step commits every order, matched or not: the unmatched site locks nothing (its limit below the price is no fault), settles with its reading, is released 0, and the settlement finalizes as buildFinalization says', async () => {
    const interval = await nextCommittable()
    const signed = await signOrders(lm, interval, [
      { site: 3, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.3) },
      { site: 4, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 5, side: SIDE_BID, energyWh: 500, limitPrice: p(0.05) },
    ])
    const auction = clearAuction(interval, signed)
    expect(auction.price).toBe(p(0.2))
    const encoded = encodeClearing(auction, signed, { includeUnmatched: true })
    expect(encoded.siteIds).toEqual([3, 4, 5])
    const before = await Promise.all([3, 4, 5].map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
    const nothing = { clearing: { interval: 0n, price: 0n, matches: [] }, siteRefs: [], readings: [] }
    const receipt = await mined(stepMarket(lm.wallet, lm.market, { finals: [], settle: nothing, commit: encoded }))
    const siteRefs = await committedSiteRefs(lm.client, lm.market, encoded, receipt)
    const locked = await Promise.all([3, 4, 5].map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
    expect(locked[2]).toBe(before[2])
    expect(locked[0]).toBeLessThan(before[0]!)
    await lm.warpTo(lm.intervalStart(interval + 1n))
    const readings = await signReadings(lm, encoded, (id) => (id === 5 ? { importWh: 400, exportWh: 0 } : exactDelivery(encoded)(id)))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: encoded, siteRefs, readings }))
    const f = buildFinalization({ clearing: encoded, siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    expect(f.releases[2]).toBe(5n << 64n)
    const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [interval, f.inputsHash, f.releases] }))
    const after = await Promise.all([3, 4, 5].map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
    // the buyer paid 1 kWh at 0.20 to the seller; the unmatched site is untouched
    expect(after.map((b, i) => b - before[i]!)).toEqual([-p(0.2), p(0.2), 0n])
  })
})

describe('8. the operator\'s bond is posted at deployment', () => {
  it('deployMarket refuses, before deploying anything, an operator that cannot post its bond in the given token; with the tokens, the bond is posted in the market\'s verifier', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey())
    await lm.test.setBalance({ address: stranger.address, value: 10n ** 20n })
    const wallet = lm.walletFor(stranger)
    const config = { ...lm.config, operator: stranger.address, operatorBond: 5_000_000n }
    const error = await deployMarket({ wallet, client: lm.client, config, token: lm.token }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(OperatorBondError)
    expect(await lm.client.getTransactionCount({ address: stranger.address })).toBe(0)
    await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [stranger.address, 5_000_000n] }))
    const deployed = await deployMarket({ wallet, client: lm.client, config, token: lm.token })
    expect(await lm.client.readContract({ address: deployed.verifier, abi: auctionVerifierAbi, functionName: 'bondOf' })).toBe(5_000_000n)
    expect(await tokenOf(deployed.verifier)).toBe(5_000_000n)
  })
})

describe('8. the on-chain auction is clearAuction', () => {
  const seed = Number(process.env.MARKET_FUZZ_SEED ?? 20_261_214)
  // limits from a few values so ties are common; 0 Wh orders take no part on either side
  const orderArb = fc.record({
    side: fc.constantFrom(SIDE_BID, SIDE_ASK),
    energyWh: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 }), fc.constant(0xffffffff)),
    limitPrice: fc.oneof(fc.constantFrom(0n, 100_000n, 150_000n, 200_000n), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })),
  })
  const bookArb = fc.uniqueArray(fc.record({ siteId: fc.integer({ min: 0, max: 63 }), order: orderArb }), { selector: (o) => o.siteId, maxLength: 64 })

  it(`AuctionVerifier.auction equals clearAuction on random books with ties and 0 Wh orders (fast-check seed ${seed})`, async () => {
    console.log(`contracts-operator: auction parity seed ${seed} (MARKET_FUZZ_SEED to replay)`)
    await fc.assert(
      fc.asyncProperty(bookArb, async (book) => {
        const orders: Order[] = book
          .map(({ siteId, order }) => ({ siteId, interval: 7n, deadline: 0n, ...order }))
          .sort((a, b) => a.siteId - b.siteId)
        const refs = orders.map((o) => packSiteRef(o.siteId, lm.sites[0]!.meter.address, o))
        const [price, matches] = await lm.client.readContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'auction', args: [refs] })
        const expected = clearAuction(7n, orders.filter((o) => o.energyWh !== 0))
        const check = checkClearing(orders, { interval: 7n, price, siteIds: orders.map((o) => o.siteId), matches: [...matches] })
        expect(check.differences).toEqual([])
        expect(price).toBe(expected.price ?? 0n)
      }),
      { seed, numRuns: 300 },
    )
  }, 300_000)

  it(`an honest operator is never proven wrong: random books committed with every order, matched or not (seed ${seed})`, async () => {
    const bondBefore = await read('bondOf')
    const honestArb = fc.array(
      fc.record({ side: fc.constantFrom(SIDE_BID, SIDE_ASK), energyWh: fc.integer({ min: 1, max: 3000 }), limitPrice: fc.constantFrom(p(0.1), p(0.15), p(0.2), p(0.25)) }),
      { minLength: 6, maxLength: 6 },
    )
    let proven = 0
    await fc.assert(
      fc.asyncProperty(honestArb, async (book) => {
        const interval = await nextCommittable()
        const specs = book.map((o, site) => ({ site, ...o }))
        const signed = await signOrders(lm, interval, specs)
        const auction = clearAuction(interval, signed)
        if (auction.price === null) return
        const c = await commit(lm, encodeClearing(auction, signed, { includeUnmatched: true }))
        expect(c.clearing.siteIds).toEqual([0, 1, 2, 3, 4, 5])
        expect(checkClearing(c.clearing.orders, c.clearing).honest).toBe(true)
        expect(await revertName(proveClearing(lm.walletFor(lm.sites[proven++ % 6]!.owner), lm.client, proof(c)))).toBe('ClearingIsTheAuctions')
      }),
      { seed, numRuns: 12 },
    )
    expect(proven).toBeGreaterThan(0)
    expect(await read('bondOf')).toBe(bondBefore)
  }, 300_000)
})
