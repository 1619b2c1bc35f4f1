// Issue 14: each attack a participant could run against the market, reproduced against a
// real chain (anvil). Every test here failed against the contract before its fix.
import { parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { disputeCommitment } from '../../core/chain/disputeCommitment.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { encodeStep, stepMarket } from '../../core/chain/stepMarket.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { packReading } from '../../core/market/encodeClearing.ts'
import type { SignedMeterReading } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, revertName, signOrders, signReadings, unpackMatches, type Committed, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  // a large ring: tests abandon committed intervals whose slots must not come round again
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 8, config: { ringSize: 512n } })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

const p = (eurPerKWh: number) => BigInt(Math.round(eurPerKWh * 1e6))
/** A buyer's penalty rate on its shortfall: max(penaltyBps, 100 %) (never cheaper than the energy). */
const buyerBps = () => (lm.config.penaltyBps < 10_000n ? 10_000n : lm.config.penaltyBps)
const balanceOf = (siteId: number) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [siteId] })
const balances = (ids: readonly number[]) => Promise.all(ids.map(balanceOf))
const record = (interval: bigint) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })

async function commitNext(specs: readonly OrderSpec[]): Promise<Committed> {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  const interval = next + 1n
  return commit(lm, clear(interval, await signOrders(lm, interval, specs)))
}

async function mined(hash: Promise<`0x${string}`>) {
  const receipt = await lm.client.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** After the dispute window of a settled interval, credits its releases. */
async function finalizeAfterWindow(c: Committed, readings: readonly (SignedMeterReading | null)[]) {
  const [, settledAt] = await record(c.clearing.interval)
  const { timestamp } = await lm.client.getBlock()
  if (timestamp < settledAt + lm.config.disputeWindowSec) await lm.warpTo(settledAt + lm.config.disputeWindowSec)
  const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
  await mined(finalizeInterval(lm.wallet, lm.market, f))
}

describe('1. withholding a reading does not veto settlement', () => {
  // site 0 sells 1 kWh to site 1 and delivers it; site 1 took it and never signs its reading
  const specs: OrderSpec[] = [
    { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
    { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
  ]

  it('a withholding buyer pays all it bought plus the penalty; the seller is paid in full', async () => {
    const before = await balances([0, 1])
    const c = await commitNext(specs)
    const endsAt = lm.intervalStart(c.clearing.interval + 1n)
    await lm.warpTo(endsAt)
    const [sellerReading] = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const readings = [sellerReading!, null]
    const settle = () => settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings })
    // a reading cannot be declared missing before the grace has passed: honest sites get time
    const allowedAt = endsAt + lm.config.settleWindowSec / 2n
    expect(await revertName(settle())).toBe('ReadingMissing')
    await lm.warpTo(allowedAt)
    await mined(settle())
    await finalizeAfterWindow(c, readings)
    const value = (1000n * c.clearing.price) / 1000n
    const penalty = (1000n * c.clearing.price * buyerBps()) / 10_000_000n // a buyer's rate: max(penaltyBps, 100 %)
    const after = await balances([0, 1])
    expect(after[0]! - before[0]!).toBe(value + penalty)
    expect(before[1]! - after[1]!).toBe(value + penalty)
    const model = computeSettlement({ price: c.clearing.price, penaltyBps: lm.config.penaltyBps, readings, matches: unpackMatches(c.clearing.matches) })
    expect(model.deltas).toEqual([value + penalty, -(value + penalty)])
  }, 60_000)

  it('a withholding seller is paid nothing and pays the penalty; the buyer settles normally', async () => {
    const before = await balances([0, 1])
    const c = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n) + lm.config.settleWindowSec / 2n)
    const [, buyerReading] = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const readings = [null, buyerReading!]
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    await finalizeAfterWindow(c, readings)
    const penalty = (1000n * c.clearing.price * lm.config.penaltyBps) / 10_000_000n
    const after = await balances([0, 1])
    expect(after[0]! - before[0]!).toBe(-penalty)
    expect(after[1]! - before[1]!).toBe(penalty)
  }, 60_000)

  it('an honest site that posted its reading cannot be settled as missing', async () => {
    const c = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
    const [sellerReading, buyerReading] = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const seller = lm.walletFor(lm.sites[0]!.owner)
    const receipt = await mined(
      seller.writeContract({
        address: lm.market,
        abi: energyMarketAbi,
        functionName: 'postReading',
        args: [c.clearing.interval, c.clearing.price, c.siteRefs, c.clearing.matches, 0n, packReading(sellerReading!)],
      }),
    )
    const [posted] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'ReadingPosted' })
    expect(posted?.args.siteId).toBe(0)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n) + lm.config.settleWindowSec / 2n)
    // the buyer (or anyone) tries to settle the seller as missing: refused
    const omit = settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings: [null, buyerReading!] })
    expect(await revertName(omit)).toBe('ReadingWasPosted')
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings: [sellerReading!, null] }))
  }, 60_000)
})

describe('4. a signed order cannot be made to revert the commit', () => {
  // fresh pair of sites per test: 2 sells to 3, 4 sells to 5
  const specsFor = (seller: number, buyer: number): OrderSpec[] => [
    { site: seller, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
    { site: buyer, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
  ]
  const withdrawable = (siteId: number) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [siteId] })

  it('a buyer that withdraws its escrow after signing: the withdrawal waits, the commit goes through', async () => {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n
    const clearing = clear(interval, await signOrders(lm, interval, specsFor(2, 3)))
    // the buyer empties its free balance between signing and the operator's commit
    const buyer = lm.walletFor(lm.sites[3]!.owner)
    const all = await withdrawable(3)
    const grab = buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [3, all] })
    expect(await revertName(grab)).toBe('WithdrawalNotDue')
    const request = await mined(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'requestWithdrawal', args: [3, all] }))
    const [requested] = parseEventLogs({ abi: energyMarketAbi, logs: request.logs, eventName: 'WithdrawalRequested' })
    const { timestamp } = await lm.client.getBlock({ blockNumber: request.blockNumber })
    expect(requested?.args.dueAt).toBe(timestamp + 3n * lm.config.intervalSec)
    expect(await revertName(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [3, all] }))).toBe('WithdrawalNotDue')
    const c = await commit(lm, clearing) // reverted with InsufficientEscrow before the fix
    expect(c.siteRefs).toHaveLength(2)
    // once due, it pays out what the lock left free
    await lm.warpTo(requested!.args.dueAt)
    const left = await withdrawable(3)
    expect(left).toBeLessThan(all)
    expect(await revertName(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [3, all] }))).toBe('WithdrawExceedsAvailable')
    await mined(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [3, left] }))
  }, 60_000)

  it('a site that deactivates itself after signing stays in the market until its orders have run', async () => {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n
    const clearing = clear(interval, await signOrders(lm, interval, specsFor(4, 5)))
    const seller = lm.walletFor(lm.sites[4]!.owner)
    const leave = await mined(seller.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'setActive', args: [4, false] }))
    const [leaving] = parseEventLogs({ abi: energyMarketAbi, logs: leave.logs, eventName: 'SiteLeaving' })
    await commit(lm, clearing) // reverted with SiteInactive before the fix
    // after the delay the leave completes (anyone may complete it) and the site trades no more
    expect(await revertName(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'completeLeave', args: [4] }))).toBe('LeaveNotDue')
    await lm.warpTo(leaving!.args.activeUntil)
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'completeLeave', args: [4] }))
    const later = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(later - 1n))
    expect(await revertName(commit(lm, clear(later, await signOrders(lm, later, specsFor(4, 5)))))).toBe('SiteInactive')
  }, 60_000)
})

describe('5. front-running the permissionless parts of a step', () => {
  it('someone else finalizing or settling first does not make the operator\'s step revert: the step skips that work', async () => {
    const specs: OrderSpec[] = [
      { site: 6, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 7, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    // m: settled and past its dispute window, ready to be finalized
    const m = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(m.clearing.interval + 1n))
    const mReadings = await signReadings(lm, m.clearing, exactDelivery(m.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: m.clearing, siteRefs: m.siteRefs, readings: mReadings }))
    const fm = buildFinalization({ clearing: m.clearing, siteRefs: m.siteRefs, readings: mReadings, penaltyBps: lm.config.penaltyBps })
    await lm.warpTo((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
    // n: committed and just ended; n + 2 is what the step commits
    const n = await commitNext(specs)
    const n2 = n.clearing.interval + 2n
    await lm.warpTo(lm.intervalStart(n.clearing.interval + 1n))
    const nReadings = await signReadings(lm, n.clearing, exactDelivery(n.clearing))
    const next = clear(n2, await signOrders(lm, n2, specs))
    // a stranger sees the step coming and does its permissionless parts first
    const stranger = lm.walletFor(lm.sites[5]!.owner)
    await mined(finalizeInterval(stranger, lm.market, fm))
    await mined(settleInterval(stranger, lm.market, { clearing: n.clearing, siteRefs: n.siteRefs, readings: nReadings }))
    const before = await balances([6, 7])
    const receipt = await mined(
      stepMarket(lm.wallet, lm.market, { finals: [fm], settle: { clearing: n.clearing, siteRefs: n.siteRefs, readings: nReadings }, commit: next }),
    )
    const [stepped] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'Stepped' })
    expect(stepped?.args.committedInterval).toBe(n2)
    // m was credited once (by the stranger), not again by the step; n + 2 locked its orders
    const after = await balances([6, 7])
    const locks = computeSettlement({ price: next.price, penaltyBps: lm.config.penaltyBps, readings: [null, null], matches: unpackMatches(next.matches) }).locks
    expect(after).toEqual([before[0]! - locks[0]!, before[1]! - locks[1]!])
    expect((await record(m.clearing.interval))[0]).toBe(4)
    expect((await record(n.clearing.interval))[0]).toBe(2)
  }, 60_000)
})

describe('3. the bond is reserved', () => {
  it('a commit cannot lock a site\'s bond: it stays whole', async () => {
    // site 2 keeps nothing but its bond in escrow, then buys
    const buyer = lm.walletFor(lm.sites[2]!.owner)
    const free = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [2] })
    const request = await mined(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'requestWithdrawal', args: [2, free] }))
    const [requested] = parseEventLogs({ abi: energyMarketAbi, logs: request.logs, eventName: 'WithdrawalRequested' })
    await lm.warpTo(requested!.args.dueAt)
    await mined(buyer.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [2, free] }))
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 2, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    // before the fix the lock was taken out of the bond and the commit went through
    expect(await revertName(commit(lm, clear(interval, await signOrders(lm, interval, specs))))).toBe('InsufficientEscrow')
    const bond = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [2] })
    expect(bond).toBe(lm.config.bond)
  }, 60_000)
})

describe('6. packed fields stay in their bits', () => {
  const LANE = (1n << 42n) - 1n
  async function fund(siteId: number, amount: bigint) {
    for (const [functionName, args] of [['mint', [lm.operator.address, amount]], ['approve', [lm.market, amount]]] as const)
      await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }))
    return lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [siteId, amount] })
  }

  it('a lock of 2^64 or more is refused naming the buyer, not spilled into the site id', async () => {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n
    const huge = (1n << 64n) - 1n // the largest price an order can carry
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 20_000, limitPrice: 1n },
      { site: 1, side: SIDE_BID, energyWh: 20_000, limitPrice: huge },
    ]
    const clearing = { ...clear(interval, await signOrders(lm, interval, specs)), price: huge }
    const error = await commit(lm, clearing).catch((e: unknown) => e)
    expect(await revertName(Promise.reject(error))).toBe('InsufficientEscrow')
    // it names a site of the clearing (site 0's lock, first in order, is as far out of reach)
    // and the saturated need 2^42; before the fix the lock's high bits were read as site 3
    expect(String(error)).toMatch(/InsufficientEscrow\(uint32 siteId, uint256 needed, uint256 available\)\s+\(0, 4398046511104, /)
  }, 60_000)

  it('a seller whose balance is near the cap still finalizes (above the cap it goes to a side balance), and a deposit cannot fill a balance to the cap', async () => {
    // three buyers each lock almost 2^41 and pay it to one seller: a release above 2^42
    const seller = 6 // (site 4 left the market in test 4)
    const buyers = [1, 2, 3]
    const price = ((1n << 41n) - (1n << 32n)) * 10_000_000n / (6_000n * (10_000n + buyerBps()))
    for (const b of buyers) {
      const bal = await balanceOf(b)
      if (bal < 1n << 41n) await mined(fund(b, (1n << 41n) - 1n - bal))
    }
    // anyone may deposit for a site, but not past 2^41: the cap leaves room for income
    const sellerBal = await balanceOf(seller)
    expect(await revertName(fund(seller, LANE - sellerBal))).toBe('BalanceOverflow')
    await mined(fund(seller, (1n << 41n) - 1n - sellerBal))
    const specs: OrderSpec[] = [
      { site: seller, side: SIDE_ASK, energyWh: 18_000, limitPrice: price },
      ...buyers.map((site): OrderSpec => ({ site, side: SIDE_BID, energyWh: 6_000, limitPrice: price })),
    ]
    const c = await commitNext(specs)
    expect(c.clearing.price).toBe(price)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    const escrow = async (id: number) => (await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [id] }))
    const before = await escrow(seller)
    await finalizeAfterWindow(c, readings) // reverted with BalanceOverflow before the fix
    const value = (18_000n * price) / 1000n
    expect(await balanceOf(seller)).toBe(LANE)
    const sellerLock = (18_000n * price * lm.config.penaltyBps) / 10_000_000n // comes back with the income
    expect(await escrow(seller)).toBe(before + sellerLock + value)
  }, 120_000)
})

describe('9. smaller items', () => {
  it('a step whose head has a nonzero unused bit is refused', async () => {
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const n = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(n.clearing.interval + 1n))
    const readings = await signReadings(lm, n.clearing, exactDelivery(n.clearing))
    const n2 = n.clearing.interval + 2n
    const parameters = { finals: [], settle: { clearing: n.clearing, siteRefs: n.siteRefs, readings }, commit: clear(n2, await signOrders(lm, n2, specs)), penaltyBps: lm.config.penaltyBps }
    const data = encodeStep(parameters)
    // the head is the first word: set its lowest bit, which no field uses
    const dirty = `${data.slice(0, 66 - 2)}${(parseInt(data.slice(64, 66), 16) | 1).toString(16).padStart(2, '0')}${data.slice(66)}` as `0x${string}`
    const send = (suffix: `0x${string}`) => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: suffix })
    expect(await revertName(send(dirty))).toBe('BadParameter')
    await mined(send(data))
  }, 60_000)
})

describe('2. a dispute settles the double-signer at its worst case, not everyone\'s interval', () => {
  it('the honest seller is paid, the double-signing buyer pays its worst case and loses its bond to the named beneficiary, and trades again only with a whole bond', async () => {
    // site 3 buys from site 0 and double-signs its reading; site 5 (the same attacker) disputes
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 3, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const before = await balances([5, 0, 3])
    const c = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const { signMeterReading } = await import('../../core/market/signMarketData.ts')
    const second = await signMeterReading(lm.sites[3]!.meter, lm.domain, { ...readings[1]!, importWh: 0 })
    const attacker = lm.walletFor(lm.sites[5]!.owner)
    const commitment = disputeCommitment({ sender: lm.sites[5]!.owner.address, reporterSiteId: 5, interval: c.clearing.interval, pos: 1n, reading: packReading(second) })
    await mined(attacker.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitDispute', args: [commitment] }))
    await mined(
      attacker.writeContract({
        address: lm.market,
        abi: energyMarketAbi,
        functionName: 'dispute',
        args: [c.clearing.interval, c.clearing.price, c.siteRefs, c.clearing.matches, f.metas, f.releasesHash, 1n, packReading(second), 5],
      }),
    )
    // the interval stays settled, with the offender's reading replaced by its worst case
    expect((await record(c.clearing.interval))[0]).toBe(2)
    const worst = [readings[0]!, null]
    await finalizeAfterWindow(c, worst)
    const value = (1000n * c.clearing.price) / 1000n
    const penalty = (1000n * c.clearing.price * buyerBps()) / 10_000_000n // the offender is the buyer
    const after = await balances([5, 0, 3])
    expect(after[1]! - before[1]!).toBe(value + penalty) // the honest seller is paid
    expect(before[2]! - after[2]!).toBe(value + penalty) // the offender pays its worst case
    expect(after[0]! - before[0]!).toBe(lm.config.bond) // the beneficiary gets the whole bond
    const bondOf = (id: number) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [id] })
    expect(await bondOf(3)).toBe(0n)
    // no trading without a whole bond; a deposit restores it
    const interval = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(interval - 1n))
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    expect(await revertName(commit(lm, clearing))).toBe('BondNotPosted')
    for (const [functionName, args] of [['mint', [lm.operator.address, lm.config.bond]], ['approve', [lm.market, lm.config.bond]]] as const)
      await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }))
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [3, lm.config.bond] }))
    expect(await bondOf(3)).toBe(lm.config.bond)
    await commit(lm, clearing)
  }, 120_000)
})

describe('9. a dispute window of 0', () => {
  it('is refused on any chain but a local development chain (31337)', async () => {
    const other = await startAnvil({ chainId: 4242 })
    try {
      const deploy = createLocalMarket({ rpcUrl: other.rpcUrl, chainId: other.chainId, sites: 1, config: { disputeWindowSec: 0n } })
      const error = await deploy.catch((e: unknown) => e)
      expect(String(error)).toMatch(/BadParameter|disputeWindowSec/)
      expect(error).toBeInstanceOf(Error)
    } finally {
      await other.stop()
    }
    // the local chain may use 0 (tests and demos that do not wait for disputes)
    const local = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 1, config: { disputeWindowSec: 0n } })
    expect(await local.client.readContract({ address: local.market, abi: energyMarketAbi, functionName: 'disputeWindowSec' })).toBe(0n)
  }, 60_000)
})

describe('2. the dispute reward cannot be front-run', () => {
  it('a copy of someone else\'s proof, without its own commitment from an earlier block, is refused; the committed reporter is paid', async () => {
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const c = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const { signMeterReading } = await import('../../core/market/signMarketData.ts')
    const proof = packReading(await signMeterReading(lm.sites[0]!.meter, lm.domain, { ...readings[0]!, exportWh: 0 }))
    const disputeAs = (site: number) =>
      lm.walletFor(lm.sites[site]!.owner).writeContract({
        address: lm.market,
        abi: energyMarketAbi,
        functionName: 'dispute',
        args: [c.clearing.interval, c.clearing.price, c.siteRefs, c.clearing.matches, f.metas, f.releasesHash, 0n, proof, site],
      })
    // the honest reporter (site 5) commits to its proof first: only a hash is public
    const reporter = lm.sites[5]!.owner
    const commitment = disputeCommitment({ sender: reporter.address, reporterSiteId: 5, interval: c.clearing.interval, pos: 0n, reading: proof })
    await mined(lm.walletFor(reporter).writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitDispute', args: [commitment] }))
    // a front-runner that copies the revealed proof and names its own site (2) is refused
    expect(await revertName(disputeAs(2))).toBe('DisputeNotCommitted')
    const before = await balanceOf(5)
    await mined(disputeAs(5))
    expect((await balanceOf(5)) - before).toBe(lm.config.bond)
  }, 60_000)
})

describe('7. the owner does not rotate its own meter key alone', () => {
  it('a rotation takes effect only when the owner and the operator both ask for the same key', async () => {
    const { privateKeyToAccount, generatePrivateKey } = await import('viem/accounts')
    const ownMeter = privateKeyToAccount(generatePrivateKey()) // a key the owner controls
    const meterOf = async () => (await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'site', args: [1] }))[1]
    const before = await meterOf()
    const owner = lm.walletFor(lm.sites[1]!.owner)
    await mined(owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [1, ownMeter.address] }))
    // before the fix the owner's call alone replaced the meter key: it could sign its own readings
    expect(await meterOf()).toBe(before)
    const stranger = lm.walletFor(lm.sites[2]!.owner)
    expect(await revertName(stranger.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [1, ownMeter.address] }))).toBe('NotSiteOwner')
    // the operator co-signs the same key: now it rotates
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [1, ownMeter.address] }))
    expect(await meterOf()).toBe(ownMeter.address)
    lm.sites[1]!.meter = ownMeter
  }, 60_000)
})

describe('7. a shortfall is never cheaper than the energy', () => {
  it('a buyer whose meter signs an import of 0 pays at least the value of what it bought', async () => {
    const specs: OrderSpec[] = [
      { site: 7, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 3, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const before = await balances([7, 3]) // (site 0 lost its bond in a dispute above)
    const c = await commitNext(specs)
    await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
    // the seller delivered 1 kWh; the buyer took it and its meter signs an import of 0
    const readings = await signReadings(lm, c.clearing, (siteId) => (siteId === 7 ? { importWh: 0, exportWh: 1000 } : { importWh: 0, exportWh: 0 }))
    await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
    await finalizeAfterWindow(c, readings)
    const value = (1000n * c.clearing.price) / 1000n
    const after = await balances([7, 3])
    // before the fix the buyer paid only penaltyBps (20 %) of the value
    expect(before[1]! - after[1]!).toBeGreaterThanOrEqual(value)
    expect(after[0]! - before[0]!).toBeGreaterThanOrEqual(value)
  }, 60_000)
})
