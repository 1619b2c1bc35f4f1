// Issue 14: each attack a participant could run against the market, reproduced against a
// real chain (anvil). Every test here failed against the contract before its fix.
import { parseEventLogs } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
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
    const penalty = (1000n * c.clearing.price * lm.config.penaltyBps) / 10_000_000n
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
