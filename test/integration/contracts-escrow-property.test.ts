// Escrow is conserved over a random, seeded sequence of commits, settlements (with
// withheld readings), disputes of double-signed readings, expiries, deposits, withdrawals
// and finalizations, with adversarial sites (a disputed site is re-settled at its worst case): after every step the token the market holds
// equals every free balance plus every reserved bond plus the locks of the intervals that
// are still open, and every finalization credits what computeSettlement says.
// MARKET_FUZZ_SEED=<n> replays a run; the seed is printed.
import { parseEventLogs } from 'viem'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { disputeCommitment } from '../../core/chain/disputeCommitment.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { packReading } from '../../core/market/encodeClearing.ts'
import { MarketInputError } from '../../core/market/MarketInputError.ts'
import { signMeterReading, type SignedMeterReading } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, revertName, signOrders, signReadings, unpackMatches, type Committed, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { createSeededRandom } from '../../core/random/createSeededRandom.ts'

const SITES = 6
const ROUNDS = 24
const seed = Number(process.env.MARKET_FUZZ_SEED ?? 20_261_202)

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  // 15-minute intervals, 30 min to settle (absent readings from 15 min after the end), 1 h to dispute
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: SITES, depositEach: 50_000_000n, config: { settleWindowSec: 1_800n, disputeWindowSec: 3_600n, ringSize: 64n } })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})


type Open = { c: Committed; locks: bigint[]; abandoned: boolean; readings?: (SignedMeterReading | null)[]; settledAt?: bigint }

it(`escrow is conserved over ${ROUNDS} random intervals with adversarial sites (seed ${seed})`, async () => {
  console.log(`contracts-escrow-property: seed ${seed} (MARKET_FUZZ_SEED to replay)`)
  const rand = createSeededRandom(seed)
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!
  const read = (functionName: 'balanceOf' | 'bondOf' | 'withdrawable', id: number) =>
    lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName, args: [id] })
  const mined = async (hash: Promise<`0x${string}`>) => {
    const receipt = await lm.client.waitForTransactionReceipt({ hash: await hash })
    expect(receipt.status).toBe('success')
    return receipt
  }
  const now = async () => (await lm.client.getBlock()).timestamp
  const open = new Map<bigint, Open>()
  const active = new Set(Array.from({ length: SITES }, (_, i) => i))
  const requests = new Map<number, { dueAt: bigint; amount: bigint }>()
  const counts = { committed: 0, settled: 0, absent: 0, disputed: 0, expired: 0, finalized: 0, withdrawn: 0, deposited: 0, refused: 0 }

  const checkConserved = async (where: string) => {
    const held = await lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
    let inside = 0n
    for (let id = 0; id < SITES; id++) inside += (await read('balanceOf', id)) + (await read('bondOf', id))
    for (const o of open.values()) inside += o.locks.reduce((a, b) => a + b, 0n)
    expect(inside, `escrow after ${where} (seed ${seed})`).toBe(held)
  }

  for (let round = 0; round < ROUNDS; round++) {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const t = await now()

    // commit next + 1 from a random book of the active sites (a book may not clear)
    const traders = [...active].filter(() => rand() < 0.8)
    const specs: OrderSpec[] = traders.map((site) => {
      const ask = rand() < 0.5
      return { site, side: ask ? SIDE_ASK : SIDE_BID, energyWh: 200 + Math.floor(rand() * 5_000), limitPrice: BigInt(ask ? 50_000 + Math.floor(rand() * 60_000) : 90_000 + Math.floor(rand() * 80_000)) }
    })
    const orders = await signOrders(lm, next + 1n, specs)
    const clearing = (() => {
      try {
        return clear(next + 1n, orders)
      } catch (error) {
        if (error instanceof MarketInputError) return null // the book did not cross
        throw error
      }
    })()
    if (clearing) {
      try {
        const c = await commit(lm, clearing)
        const { locks } = computeSettlement({ price: clearing.price, penaltyBps: lm.config.penaltyBps, readings: clearing.siteIds.map(() => null), matches: unpackMatches(clearing.matches) })
        // now and then nobody settles an interval at all: it expires
        open.set(clearing.interval, { c, locks, abandoned: rand() < 0.15 })
        counts.committed++
      } catch {
        // a site short of escrow (withdrawals) refuses the commit; nothing was locked
        expect(await revertName(commit(lm, clearing))).toBe('InsufficientEscrow')
        counts.refused++
      }
      await checkConserved(`commit of ${clearing.interval}`)
    }

    for (const [interval, o] of [...open.entries()].sort((a, b) => Number(a[0] - b[0]))) {
      const endsAt = lm.intervalStart(interval + 1n)
      if (o.settledAt === undefined && t >= endsAt) {
        if (t >= endsAt + lm.config.settleWindowSec) {
          // nobody settled in time: expire settles the trades as committed (as delivered) and credits at once
          const delivered = computeSettlement({ price: o.c.clearing.price, penaltyBps: lm.config.penaltyBps, readings: o.c.clearing.siteIds.map((id) => exactDelivery(o.c.clearing)(id)), matches: unpackMatches(o.c.clearing.matches) })
          const before = await Promise.all(o.c.clearing.siteIds.map((id) => read('balanceOf', id)))
          await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'expire', args: [interval, o.c.clearing.price, o.c.siteRefs, o.c.clearing.matches] }))
          const after = await Promise.all(o.c.clearing.siteIds.map((id) => read('balanceOf', id)))
          expect(after.map((b, i) => b - before[i]!), `expiry of ${interval} (seed ${seed})`).toEqual(delivered.releases)
          open.delete(interval)
          counts.expired++
          await checkConserved(`expiry of ${interval}`)
          continue
        }
        if (o.abandoned) continue
        // each site delivers a random share of what it traded, or (adversarial) withholds
        const graceOver = t >= endsAt + lm.config.settleWindowSec / 2n
        const withholds = o.c.clearing.siteIds.map(() => rand() < 0.25)
        if (withholds.some(Boolean) && !graceOver) continue // wait for the grace (or let it expire)
        const signed = await signReadings(lm, o.c.clearing, () => ({ importWh: Math.floor(rand() * 6_000), exportWh: Math.floor(rand() * 6_000) }))
        const readings = signed.map((r, k) => (withholds[k] ? null : r))
        const receipt = await mined(settleInterval(lm.wallet, lm.market, { clearing: o.c.clearing, siteRefs: o.c.siteRefs, readings }))
        o.readings = readings
        o.settledAt = (await lm.client.getBlock({ blockNumber: receipt.blockNumber })).timestamp
        counts.settled++
        counts.absent += readings.filter((r) => r === null).length
        await checkConserved(`settlement of ${interval}`)
        // an adversarial site's meter double-signs; another site proves it
        const k = readings.findIndex((r) => r !== null)
        if (k >= 0 && rand() < 0.2) {
          const offender = o.c.clearing.siteIds[k]!
          const reporter = pick([...active].filter((id) => id !== offender))
          const f = buildFinalization({ clearing: o.c.clearing, siteRefs: o.c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
          const second = await signMeterReading(lm.sites[offender]!.meter, lm.domain, { ...readings[k]!, exportWh: readings[k]!.exportWh + 1 })
          const commitment = disputeCommitment({ sender: lm.sites[reporter]!.owner.address, reporterSiteId: reporter, interval, pos: BigInt(k), reading: packReading(second) })
          await mined(lm.walletFor(lm.sites[reporter]!.owner).writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitDispute', args: [commitment] }))
          await mined(
            lm.walletFor(lm.sites[reporter]!.owner).writeContract({
              address: lm.market,
              abi: energyMarketAbi,
              functionName: 'dispute',
              args: [interval, o.c.clearing.price, o.c.siteRefs, o.c.clearing.matches, f.metas, f.releasesHash, BigInt(k), packReading(second), reporter],
            }),
          )
          // the offender is re-settled as absent; it trades again once a deposit restores its bond
          readings[k] = null
          active.delete(offender)
          counts.disputed++
          await checkConserved(`dispute of ${interval}`)
        }
      } else if (o.settledAt !== undefined && t >= o.settledAt + lm.config.disputeWindowSec) {
        const f = buildFinalization({ clearing: o.c.clearing, siteRefs: o.c.siteRefs, readings: o.readings!, penaltyBps: lm.config.penaltyBps })
        const before = await Promise.all(o.c.clearing.siteIds.map((id) => read('balanceOf', id)))
        await mined(finalizeInterval(lm.wallet, lm.market, f))
        const after = await Promise.all(o.c.clearing.siteIds.map((id) => read('balanceOf', id)))
        expect(after.map((b, i) => b - before[i]!), `releases of ${interval} (seed ${seed})`).toEqual(f.releases.map((r) => r & ((1n << 64n) - 1n)))
        open.delete(interval)
        counts.finalized++
        await checkConserved(`finalization of ${interval}`)
      }
    }

    // an owner asks to withdraw, and takes what is free once due; anyone deposits
    const site = pick([...Array(SITES).keys()])
    const owner = lm.walletFor(lm.sites[site]!.owner)
    const request = requests.get(site)
    if (request !== undefined && t >= request.dueAt) {
      // at most what was requested, of what is free now
      const free = await read('withdrawable', site)
      const amount = free < request.amount ? free : request.amount
      if (amount > 0n) {
        await mined(owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [site, amount] }))
        counts.withdrawn++
      }
      requests.delete(site)
    } else if (request === undefined && rand() < 0.5) {
      const amount = 1n + BigInt(Math.floor(rand() * 40_000_000))
      const receipt = await mined(owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'requestWithdrawal', args: [site, amount] }))
      const [event] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'WithdrawalRequested' })
      requests.set(site, { dueAt: event!.args.dueAt, amount })
    } else {
      const amount = 1n + BigInt(Math.floor(rand() * 20_000_000))
      for (const [functionName, args] of [['mint', [lm.operator.address, amount]], ['approve', [lm.market, amount]]] as const)
        await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }))
      await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [site, amount] }))
      if ((await read('bondOf', site)) === lm.config.bond) active.add(site)
      counts.deposited++
    }
    await checkConserved(`round ${round}`)
  }
  console.log(`contracts-escrow-property: seed ${seed}: ${JSON.stringify(counts)}`)
  // the run exercised the paths it is about
  expect(counts.committed).toBeGreaterThan(5)
  expect(counts.settled).toBeGreaterThan(3)
  expect(counts.finalized).toBeGreaterThan(0)
}, 600_000)
