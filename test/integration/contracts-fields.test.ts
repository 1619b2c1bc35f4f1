// The edges of EnergyMarket's packed fields (issue 14, attack 6), on anvil: a deposit fills a
// free balance to exactly 2^41 and not one unit more; income that fills the 42-bit balance
// exactly stays in it, one unit more goes to the side balance (finalize does not revert);
// an order word with a bit set above its fields is refused; a lock that is exactly the
// free balance commits and one unit more does not.
import { parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { orderArgs } from '../../core/chain/commitClearing.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, revertName, signOrders, signReadings, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

const LANE = (1n << 42n) - 1n
const DEPOSIT_CAP = 1n << 41n

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  // no deposits: every balance here is set to the unit
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 9, depositEach: 0n, config: { ringSize: 256n } })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

/** A buyer's penalty rate on its shortfall: max(penaltyBps, 100 %). */
const buyerBps = () => (lm.config.penaltyBps < 10_000n ? 10_000n : lm.config.penaltyBps)

const read = (functionName: 'balanceOf' | 'bondOf' | 'withdrawable', siteId: number) =>
  lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName, args: [siteId] })

async function mined(hash: Promise<`0x${string}`>) {
  const receipt = await lm.client.waitForTransactionReceipt({ hash: await hash })
  expect(receipt.status).toBe('success')
  return receipt
}

/** Deposits `amount` for `siteId` (minted by the operator); the bond is filled first. */
async function deposit(siteId: number, amount: bigint) {
  for (const [functionName, args] of [['mint', [lm.operator.address, amount]], ['approve', [lm.market, amount]]] as const)
    await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }))
  return lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [siteId, amount] })
}

async function nextInterval() {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

describe('packed field edges', () => {
  it('a deposit fills a free balance to exactly 2^41, not one unit more', async () => {
    await mined(deposit(5, lm.config.bond + DEPOSIT_CAP))
    expect([await read('bondOf', 5), await read('balanceOf', 5)]).toEqual([lm.config.bond, DEPOSIT_CAP])
    expect(await revertName(deposit(5, 1n))).toBe('BalanceOverflow')
  }, 60_000)

  it('an order word with a bit set above its fields is refused', async () => {
    await mined(deposit(0, lm.config.bond + 10n ** 9n))
    await mined(deposit(1, lm.config.bond + 10n ** 9n))
    const interval = await nextInterval()
    const specs: OrderSpec[] = [
      { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n },
      { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: 200_000n },
    ]
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    const orders = orderArgs(clearing)
    const send = (o: typeof orders) => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitClearing', args: [interval, clearing.price, o, clearing.matches] })
    // bit 232 is the first above the site id (bits 200..231)
    expect(await revertName(send([{ ...orders[0]!, meta: orders[0]!.meta | (1n << 232n) }, orders[1]!]))).toBe('BadParameter')
    await mined(send(orders))
  }, 60_000)

  // one seller, four buyers of 5 kWh each at 1.1e11 units/kWh: each buyer's value is
  // 5.5e11 and its lock (value + the buyer's 100 % penalty) 1.1e12; the seller's lock is
  // 4.4e11 and its release 4.4e11 + 2.2e12. The seller starts at 2^42 - 1 - 2.2e12 + extra.
  for (const [extra, seller] of [[0n, 2], [1n, 3]] as const) {
    it(`income that ${extra === 0n ? 'fills the 42-bit balance exactly stays in it' : 'overfills it by one unit puts that unit in the side balance'}; finalize does not revert`, async () => {
      const price = 110_000_000_000n
      const value = (5_000n * price) / 1000n
      const buyerLock = (5_000n * price * (10_000n + buyerBps())) / 10_000_000n
      const startFree = LANE - 4n * value + extra
      expect(startFree <= DEPOSIT_CAP).toBe(true)
      await mined(deposit(seller, lm.config.bond + startFree))
      const buyers = [1, 4, 7, 8]
      for (const b of buyers) {
        const need = buyerLock - (await read('balanceOf', b))
        const bonded = await read('bondOf', b)
        if (need > 0n || bonded < lm.config.bond) await mined(deposit(b, (need > 0n ? need : 0n) + lm.config.bond - bonded))
      }
      const interval = await nextInterval()
      const ask: OrderSpec = { site: seller, side: SIDE_ASK, energyWh: 20_000, limitPrice: price }
      const specs: OrderSpec[] = [
        ask,
        ...buyers.map((site): OrderSpec => ({ site, side: SIDE_BID, energyWh: 5_000, limitPrice: price })),
      ].sort((a, b) => a.site - b.site)
      const c = await commit(lm, clear(interval, await signOrders(lm, interval, specs)))
      expect(c.clearing.price).toBe(price)
      await lm.warpTo(lm.intervalStart(interval + 1n))
      const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
      const settled = await mined(settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
      const { timestamp } = await lm.client.getBlock({ blockNumber: settled.blockNumber })
      await lm.warpTo(timestamp + lm.config.disputeWindowSec)
      const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
      const receipt = await mined(finalizeInterval(lm.wallet, lm.market, f))
      expect(parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'IntervalFinalized' })).toHaveLength(1)
      expect(await read('balanceOf', seller)).toBe(LANE)
      expect(await read('withdrawable', seller)).toBe(LANE + extra)
    }, 120_000)
  }

  it('a lock exactly the free balance commits; one unit more is refused', async () => {
    const price = 100_000n
    const lockOf = (wh: bigint) => (wh * price * (10_000n + buyerBps())) / 10_000_000n
    // buyer 6 holds exactly the lock of 1000 Wh
    const free = lockOf(1000n)
    await mined(deposit(6, lm.config.bond + free))
    expect(lockOf(1001n)).toBeGreaterThan(free)
    const specsFor = (energyWh: number): OrderSpec[] => [
      { site: 0, side: SIDE_ASK, energyWh, limitPrice: price },
      { site: 6, side: SIDE_BID, energyWh, limitPrice: price },
    ]
    const early = await nextInterval()
    expect(await revertName(commit(lm, clear(early, await signOrders(lm, early, specsFor(1001)))))).toBe('InsufficientEscrow')
    const interval = await nextInterval()
    await commit(lm, clear(interval, await signOrders(lm, interval, specsFor(1000))))
    expect(await read('balanceOf', 6)).toBe(0n)
  }, 60_000)
})
