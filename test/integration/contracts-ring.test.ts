// The interval ring of EnergyMarket on anvil: records live in ringSize slots written at
// deploy, a commit may only reuse a slot whose interval is finalized or void, expire()
// frees a slot nobody settled, and a step (marketStep()) runs a live market one transaction per interval.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseEventLogs, type Hex } from 'viem'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization, type Finalization } from '../../core/chain/buildFinalization.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { encodeStep, stepMarket, steppedIntervals } from '../../core/chain/stepMarket.ts'
import { committedSiteRefs, CommittedRefsError } from '../../core/chain/committedSiteRefs.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, revertName, signOrders, signReadings, unpackMatches, type Committed, type OrderSpec } from '../fixtures/market/marketFlow.ts'

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  // 900 s intervals, 30 min to settle, 1 h to dispute: the smallest ring is 3 + 6 = 9
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 4, config: { settleWindowSec: 1_800n, disputeWindowSec: 3_600n } })
})

afterAll(async () => {
  await anvil?.stop()
})

const specs: OrderSpec[] = [
  { site: 0, side: SIDE_ASK, energyWh: 2000, limitPrice: 90_000n },
  { site: 1, side: SIDE_BID, energyWh: 1500, limitPrice: 180_000n },
  { site: 2, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n },
  { site: 3, side: SIDE_BID, energyWh: 1200, limitPrice: 160_000n },
]
const ids = [0, 1, 2, 3]
const balances = () => Promise.all(ids.map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
const record = (interval: bigint) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
const mined = async (hash: `0x${string}`) => expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')

async function commitAt(interval: bigint): Promise<Committed> {
  return commit(lm, clear(interval, await signOrders(lm, interval, specs)))
}

async function settleExact(c: Committed) {
  const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
  await mined(await settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }))
  return buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
}

/** Settles `c` once it ended and credits it after its dispute window: frees its slot. */
async function settleAndFinalize(c: Committed) {
  await warpAtLeast(lm.intervalStart(c.clearing.interval + 1n))
  const f = await settleExact(c)
  await warpAtLeast((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
  await mined(await finalizeInterval(lm.wallet, lm.market, f))
}

/** Chain time moves to `t` unless it is already later. */
async function warpAtLeast(t: bigint) {
  if ((await lm.client.getBlock()).timestamp < t) await lm.warpTo(t)
}

describe('interval ring', () => {
  it('is as small as the windows allow and written at deploy', async () => {
    expect(lm.config.ringSize).toBe(9n)
    const onChain = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'ringSize' })
    expect(onChain).toBe(9n)
  })

  it('a commit that would reuse the slot of a settled interval that is not finalized reverts with RingSlotBusy', async () => {
    const n = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(n - 1n))
    const first = await commitAt(n)
    await lm.warpTo(lm.intervalStart(n + 1n))
    const f = await settleExact(first)
    // n + 9 lands in n's slot; it can be committed from the start of n + 7
    await lm.warpTo(lm.intervalStart(n + 7n))
    expect(await record(n)).toMatchObject([2, expect.any(BigInt), true]) // past its window, not credited
    expect(await revertName(commitAt(n + 9n))).toBe('RingSlotBusy')
    await mined(await finalizeInterval(lm.wallet, lm.market, f))
    const reused = await commitAt(n + 9n)
    // the slot now holds n + 9: n's record is gone, its money was credited before
    expect((await record(n))[0]).toBe(0)
    expect((await record(n + 9n))[0]).toBe(1)
    await settleAndFinalize(reused)
  })

  it('a committed interval nobody settled keeps its slot and its locks until expire() settles it as committed', async () => {
    const before = await balances()
    const m = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(m - 1n))
    const c = await commitAt(m)
    const model = computeSettlement({ price: c.clearing.price, penaltyBps: lm.config.penaltyBps, readings: c.clearing.siteIds.map(() => ({ importWh: 0, exportWh: 0 })), matches: unpackMatches(c.clearing.matches) })
    expect(await balances()).toEqual(before.map((b, i) => b - model.locks[i]!))
    const expire = () =>
      lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'expire', args: [m, c.clearing.price, c.siteRefs, c.clearing.matches] })
    await lm.warpTo(lm.intervalStart(m + 1n))
    expect(await revertName(expire())).toBe('SettleWindowOpen')
    await lm.warpTo(lm.intervalStart(m + 7n))
    expect(await revertName(commitAt(m + 9n))).toBe('RingSlotBusy')
    const tampered = lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'expire', args: [m, c.clearing.price + 1n, c.siteRefs, c.clearing.matches] })
    expect(await revertName(tampered)).toBe('ClearingMismatch')
    await mined(await expire())
    // the trades stand as committed (as if every site delivered exactly what it traded), credited at once
    const delivered = computeSettlement({ price: c.clearing.price, penaltyBps: lm.config.penaltyBps, readings: c.clearing.siteIds.map((id) => exactDelivery(c.clearing)(id)), matches: unpackMatches(c.clearing.matches) })
    expect(await balances()).toEqual(before.map((b, i) => b + delivered.deltas[i]!))
    expect((await record(m))[0]).toBe(4)
    expect(await revertName(expire())).toBe('AlreadySettled')
    await settleAndFinalize(await commitAt(m + 9n))
  })

  it('a step finalizes the slot it reuses, settles n and commits n + 2 in one transaction, interval after interval', async () => {
    const ring = lm.config.ringSize
    const before = await balances()
    const first = (await lm.nextInterval()) + 1n
    await lm.warpTo(lm.intervalStart(first - 1n))
    const committed = new Map<bigint, Committed>([[first, await commitAt(first)], [first + 1n, await commitAt(first + 1n)]])
    const settled = new Map<bigint, Finalization>()
    const steps = Number(ring) + 3
    let expected = [...before]
    for (let i = 0; i < steps; i++) {
      const n = first + BigInt(i)
      await lm.warpTo(lm.intervalStart(n + 1n))
      const c = committed.get(n)!
      const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
      const next = clear(n + 2n, await signOrders(lm, n + 2n, specs))
      const occupant = settled.get(n + 2n - ring)
      const args = { finals: occupant ? [occupant] : [], settle: { clearing: c.clearing, siteRefs: c.siteRefs, readings }, commit: next, penaltyBps: lm.config.penaltyBps }
      if (i === 0) {
        expect(await revertName(stepMarket(lm.walletFor(lm.sites[0]!.owner), lm.market, args))).toBe('NotOperator')
        // the packed data must fit its counts exactly: one word short or one word long, or no head
        const data = encodeStep(args)
        for (const bad of [data.slice(0, -64) as Hex, `${data}${'00'.repeat(32)}` as Hex, '0x' as Hex, '0x01' as Hex]) {
          const sent = lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: bad })
          expect(await revertName(sent)).toBe('BadParameter')
        }
      }
      if (occupant) {
        // without the finalization the slot is still taken
        expect(await revertName(stepMarket(lm.wallet, lm.market, { ...args, finals: [] }))).toBe('RingSlotBusy')
      }
      const hash = await stepMarket(lm.wallet, lm.market, args)
      await mined(hash)
      const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
      settled.set(n, f)
      if (occupant) expect((await record(occupant.interval))[0]).toBe(0) // credited, then overwritten by n + 2
      const receipt = await lm.client.getTransactionReceipt({ hash })
      // one log for the whole step: the commit's interval and hash, the settled interval and
      // the finalized ones; committedSiteRefs rebuilds the refs from it
      expect(receipt.logs).toHaveLength(1)
      const [stepped] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'Stepped' })
      expect(stepped?.args.committedInterval).toBe(n + 2n)
      const finalized = occupant ? (occupant.interval << 40n) | (1n << 32n) : 0n
      expect(stepped?.args.settledAndFinalized).toBe(n | finalized)
      committed.set(n + 2n, { clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt), hash, gasUsed: receipt.gasUsed })
      if (i === 0) {
        // a receipt without the commit's log (the wrong interval) is refused, not guessed
        await expect(committedSiteRefs(lm.client, lm.market, { ...next, interval: n + 3n }, receipt)).rejects.toBeInstanceOf(CommittedRefsError)
      }
    }
    // wind down: settle the last two, finalize everything still open; then every
    // interval has paid exactly its computed delta
    for (const n of [first + BigInt(steps), first + BigInt(steps) + 1n]) {
      await lm.warpTo(lm.intervalStart(n + 1n))
      settled.set(n, await settleExact(committed.get(n)!))
    }
    await warpAtLeast((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
    for (const f of settled.values()) if ((await record(f.interval))[0] === 2) await mined(await finalizeInterval(lm.wallet, lm.market, f))
    for (const c of committed.values()) {
      const readings = c.clearing.siteIds.map((id) => exactDelivery(c.clearing)(id))
      const { deltas } = computeSettlement({ price: c.clearing.price, penaltyBps: lm.config.penaltyBps, readings, matches: unpackMatches(c.clearing.matches) })
      expected = expected.map((b, id) => b + (deltas[c.clearing.siteIds.indexOf(id)] ?? 0n))
    }
    expect(await balances()).toEqual(expected)
    const held = await lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
    // the token the market holds is every free balance plus every reserved bond
    const bonds = await Promise.all(ids.map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [id] })))
    expect([...(await balances()), ...bonds].reduce((a, b) => a + b, 0n)).toBe(held)
  })

  it('a step that finalizes more than six intervals logs the first six in Stepped and IntervalFinalized for the rest', async () => {
    // seven intervals two apart (each committed before the previous one is settled), all
    // settled and past their dispute windows; then one step credits all seven
    const base = (await lm.nextInterval()) + 1n
    await warpAtLeast(lm.intervalStart(base - 1n))
    const finals: Finalization[] = []
    let c = await commitAt(base)
    for (let k = 0; k < 7; k++) {
      await lm.warpTo(lm.intervalStart(c.clearing.interval + 1n))
      finals.push(await settleExact(c))
      c = await commitAt(c.clearing.interval + 2n)
    }
    // c is base + 14, never settled: expire it later; step settles base + 16 and commits base + 18
    const n = base + 16n
    await lm.warpTo(lm.intervalStart(n - 1n))
    const settled = await commitAt(n)
    await lm.warpTo(lm.intervalStart(n + 1n) + 60n) // past the last final's dispute window
    const readings = await signReadings(lm, settled.clearing, exactDelivery(settled.clearing))
    const next = clear(n + 2n, await signOrders(lm, n + 2n, specs))
    const hash = await stepMarket(lm.wallet, lm.market, { finals, settle: { clearing: settled.clearing, siteRefs: settled.siteRefs, readings }, commit: next })
    await mined(hash)
    const { logs } = await lm.client.getTransactionReceipt({ hash })
    const [stepped] = parseEventLogs({ abi: energyMarketAbi, logs, eventName: 'Stepped' })
    const word = finals.slice(0, 6).reduce((w, f, i) => w | (f.interval << BigInt(40 + 32 * i)), n | (7n << 32n))
    expect(stepped?.args.settledAndFinalized).toBe(word)
    // as the sites read it back to find the transaction that settled or finalized their interval
    expect(steppedIntervals(word)).toEqual({ settled: n, finalized: finals.slice(0, 6).map((f) => f.interval) })
    expect(parseEventLogs({ abi: energyMarketAbi, logs, eventName: 'IntervalFinalized' }).map((l) => l.args.interval)).toEqual([finals[6]!.interval])
    // credited; the first one's slot now holds n + 2
    expect(await Promise.all(finals.map(async (f) => (await record(f.interval))[0]))).toEqual([0, 4, 4, 4, 4, 4, 4])
    // wind down: base + 14 expires, n + 2 settles and is credited
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'expire', args: [c.clearing.interval, c.clearing.price, c.siteRefs, c.clearing.matches] }))
    const receipt = await lm.client.getTransactionReceipt({ hash })
    await settleAndFinalize({ clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt), hash, gasUsed: receipt.gasUsed })
  })
})
