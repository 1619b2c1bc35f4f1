// EnergyMarket against a real chain (anvil): the happy path and every attack the issue
// lists, each asserted by the contract's custom error name.
import { readFileSync } from 'node:fs'
import { encodeAbiParameters, hashDomain, keccak256, parseEventLogs, toHex, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { compileContracts, renderAbiModule } from '../../contracts/compile.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { disputeCommitment } from '../../core/chain/disputeCommitment.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { packReading, packSiteRef } from '../../core/market/encodeClearing.ts'
import { signMeterReading, signOrder, type SignedMeterReading } from '../../core/market/signMarketData.ts'
import { marketTypes, SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import {
  clear,
  commit,
  exactDelivery,
  revertName,
  signOrders,
  signReadings,
  unpackMatches,
  type Committed,
  type OrderSpec,
} from '../fixtures/market/marketFlow.ts'

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  // a ring far larger than the windows need: attack tests abandon committed intervals,
  // and their slots must not come round again in this file (contracts-ring tests reuse)
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 8, importCapWh: 20_000, exportCapWh: 20_000, config: { ringSize: 512n } })
})

afterAll(async () => {
  await anvil?.stop()
})

const p = (eurPerKWh: number) => BigInt(Math.round(eurPerKWh * 1e6))
// sites 0,1 sell, 2,3 buy; 0 and 2 are the cheapest ask / highest bid
const baseSpecs: OrderSpec[] = [
  { site: 0, side: SIDE_ASK, energyWh: 3000, limitPrice: p(0.1) },
  { site: 1, side: SIDE_ASK, energyWh: 2000, limitPrice: p(0.12) },
  { site: 2, side: SIDE_BID, energyWh: 2500, limitPrice: p(0.2) },
  { site: 3, side: SIDE_BID, energyWh: 2000, limitPrice: p(0.15) },
]

async function balances(ids: readonly number[]): Promise<bigint[]> {
  return Promise.all(
    ids.map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })),
  )
}

/** An interval nobody committed yet: chain time moves to the start of the next one. */
async function freshInterval(): Promise<bigint> {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

async function commitNext(specs: readonly OrderSpec[] = baseSpecs): Promise<Committed> {
  const interval = await freshInterval()
  return commit(lm, clear(interval, await signOrders(lm, interval, specs)))
}

async function endInterval(interval: bigint): Promise<void> {
  const { timestamp } = await lm.client.getBlock()
  if (timestamp < lm.intervalStart(interval + 1n)) await lm.warpTo(lm.intervalStart(interval + 1n))
}

/** A withdrawal is paid only after the commit delay: asks for `amount` and waits until it is due. */
async function requestAndWait(siteId: number, amount: bigint): Promise<void> {
  const wallet = lm.walletFor(lm.sites[siteId]!.owner)
  const receipt = await lm.client.waitForTransactionReceipt({
    hash: await wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'requestWithdrawal', args: [siteId, amount] }),
  })
  const [event] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'WithdrawalRequested' })
  await lm.warpTo(event!.args.dueAt)
}

async function settleExact(c: Committed) {
  const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
  const hash = await settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings })
  const receipt = await lm.client.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return readings
}

const record = (interval: bigint) =>
  lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })

/** Moves past the dispute window of a settled interval and credits its releases. */
async function finalizeAfterWindow(c: Committed, readings: readonly (SignedMeterReading | null)[]) {
  const [, settledAt] = await record(c.clearing.interval)
  const { timestamp } = await lm.client.getBlock()
  if (timestamp < settledAt + lm.config.disputeWindowSec) await lm.warpTo(settledAt + lm.config.disputeWindowSec)
  const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
  const receipt = await lm.client.waitForTransactionReceipt({ hash: await finalizeInterval(lm.wallet, lm.market, f) })
  expect(receipt.status).toBe('success')
  return f
}

describe('build artifacts', () => {
  it('contracts/abi.ts is what the current sources compile to', () => {
    const text = readFileSync(new URL('../../contracts/abi.ts', import.meta.url), 'utf8')
    expect(text).toBe(renderAbiModule(compileContracts().artifacts))
  })

  it('the EIP-712 type hashes and domain in TypeScript match the contract', async () => {
    const typeString = (name: keyof typeof marketTypes) =>
      `${name}(${marketTypes[name].map((f) => `${f.type} ${f.name}`).join(',')})`
    const read = (functionName: 'ORDER_TYPEHASH' | 'READING_TYPEHASH' | 'domainSeparator') =>
      lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName })
    expect(await read('ORDER_TYPEHASH')).toBe(keccak256(toHex(typeString('Order'))))
    expect(await read('READING_TYPEHASH')).toBe(keccak256(toHex(typeString('MeterReading'))))
    expect(await read('domainSeparator')).toBe(hashDomain({ domain: { ...lm.domain, chainId: BigInt(lm.domain.chainId) }, types: { EIP712Domain: [
      { name: 'name', type: 'string' },
      { name: 'version', type: 'string' },
      { name: 'chainId', type: 'uint256' },
      { name: 'verifyingContract', type: 'address' },
    ] } }))
  })
})

describe('happy path', () => {
  it('commits (locking each liability), settles min(traded, delivered) with penalties, and credits the net at finality', async () => {
    const before = await balances([0, 1, 2, 3])
    const c = await commitNext()
    const { clearing } = c
    expect(clearing.siteIds).toEqual([0, 1, 2, 3])
    // the commit snapshots each meter key as its 96-bit tag, and each order's side, energy and limit
    expect(c.siteRefs).toEqual(clearing.siteIds.map((id, k) => packSiteRef(id, lm.sites[id]!.meter.address, clearing.orders[k]!)))
    await endInterval(clearing.interval)
    // site 1 delivers only half of what it sold; site 3 takes 300 Wh less than it bought
    const exact = exactDelivery(clearing)
    const readingOf = (siteId: number) => {
      const r = exact(siteId)
      if (siteId === 1) return { ...r, exportWh: Math.floor(r.exportWh / 2) }
      if (siteId === 3) return { ...r, importWh: r.importWh - 300 }
      return r
    }
    const readings = await signReadings(lm, clearing, readingOf)
    const expected = computeSettlement({
      price: clearing.price,
      penaltyBps: lm.config.penaltyBps,
      readings,
      matches: unpackMatches(clearing.matches),
    })
    // commit took each site's worst case out of its free balance
    expect(await balances(clearing.siteIds)).toEqual(before.map((b, i) => b - expected.locks[i]!))
    const hash = await settleInterval(lm.wallet, lm.market, { clearing, siteRefs: c.siteRefs, readings })
    const receipt = await lm.client.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    const [event] = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'IntervalSettled' })
    expect(event?.args.interval).toBe(clearing.interval)
    // settled, not final: nothing is credited and nothing more can be withdrawn
    expect(await balances(clearing.siteIds)).toEqual(before.map((b, i) => b - expected.locks[i]!))
    const sellerWithdrawable = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [0] })
    expect(sellerWithdrawable).toBe(before[0]! - expected.locks[0]!) // the bond is reserved apart (bondOf)
    expect(expected.deltas[0]! > 0n).toBe(true) // what site 0 earned waits for finality
    const [status, , isFinal] = await record(clearing.interval)
    expect([status, isFinal]).toEqual([2, false])
    const f = buildFinalization({ clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    expect(await revertName(finalizeInterval(lm.wallet, lm.market, f))).toBe('DisputeWindowOpen')

    await finalizeAfterWindow(c, readings)
    const deltas = (await balances(clearing.siteIds)).map((b, i) => b - before[i]!)
    expect(deltas).toEqual(expected.deltas)
    expect(deltas.reduce((a, b) => a + b, 0n)).toBe(0n)
    expect(expected.settledWh).toBeLessThan(expected.tradedWh)
    expect(deltas[1]! < deltas[0]!).toBe(true) // the short seller earns less than the full one
    expect(await record(clearing.interval)).toEqual([4, (await record(clearing.interval))[1], true])
    // credited once: a second finalize and a tampered one revert
    expect(await revertName(finalizeInterval(lm.wallet, lm.market, f))).toBe('NotSettled')
  })

  it('finalize checks the releases against the settled record', async () => {
    const c = await commitNext()
    await endInterval(c.clearing.interval)
    const readings = await settleExact(c)
    const [, settledAt] = await record(c.clearing.interval)
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    const richer = { ...f, releases: f.releases.map((r, k) => (k === 0 ? r + 1n : r)) }
    expect(await revertName(finalizeInterval(lm.wallet, lm.market, richer))).toBe('SettlementMismatch')
    await lm.client.waitForTransactionReceipt({ hash: await finalizeInterval(lm.wallet, lm.market, f) })
  })

  it('pays an owner out (pull) while the bond stays in escrow', async () => {
    const site = lm.sites[0]!
    const [bal] = await balances([site.siteId])
    const available = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [site.siteId] })
    expect(available).toBe(bal!) // the bond is reserved apart from the free balance
    const wallet = lm.walletFor(site.owner)
    await requestAndWait(site.siteId, available + 1n)
    const tooMuch = wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [site.siteId, available + 1n] })
    expect(await revertName(tooMuch)).toBe('WithdrawExceedsAvailable')
    const hash = await wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [site.siteId, available] })
    await lm.client.waitForTransactionReceipt({ hash })
    expect(await balances([site.siteId])).toEqual([0n])
    expect(await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [site.siteId] })).toBe(lm.config.bond)
    const tokenBalance = await lm.client.readContract({
      address: lm.token,
      abi: [{ type: 'function', name: 'balanceOf', stateMutability: 'view', inputs: [{ type: 'address' }], outputs: [{ type: 'uint256' }] }],
      functionName: 'balanceOf',
      args: [site.owner.address],
    })
    expect(tokenBalance).toBe(available)
    // the later tests trade with site 0 again: its escrow comes back (the bond alone does not trade)
    for (const [functionName, args] of [['mint', [lm.operator.address, available]], ['approve', [lm.market, available]]] as const)
      await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }) })
    await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [site.siteId, available] }) })
  })
})

describe('attacks revert with a named error', () => {
  it('replayed order: the same interval twice, and an order signed for another interval', async () => {
    const interval = await freshInterval()
    const orders = await signOrders(lm, interval, baseSpecs)
    await commit(lm, clear(interval, orders))
    expect(await revertName(commit(lm, clear(interval, orders)))).toBe('IntervalAlreadyCommitted')
    const replayed = { ...clear(interval, orders), interval: interval + 1n }
    expect(await revertName(commit(lm, replayed))).toBe('OrderWrongInterval')
  })

  it('expired order, unsorted orders and a caller that is not the operator', async () => {
    const interval = await freshInterval()
    const orders = await signOrders(lm, interval, baseSpecs)
    const clearing = clear(interval, orders)
    const late = await signOrder(lm.sites[0]!.owner, lm.domain, { ...orders[0]!, deadline: 1n })
    expect(await revertName(commit(lm, { ...clearing, orders: [late, ...clearing.orders.slice(1)] }))).toBe('OrderExpired')
    // swap the first two orders and their positions in the matches: valid except for the order
    const swapped = [clearing.orders[1]!, clearing.orders[0]!, ...clearing.orders.slice(2)]
    const swapPos = (pos: bigint) => (pos === 0n ? 1n : pos === 1n ? 0n : pos)
    const remapped = clearing.matches.map(
      (m) => (swapPos((m >> 40n) & 0xffn) << 40n) | (swapPos((m >> 32n) & 0xffn) << 32n) | (m & 0xffffffffn),
    )
    expect(await revertName(commit(lm, { ...clearing, orders: swapped, matches: remapped }))).toBe('OrdersNotSorted')
    const intruder = lm.walletFor(lm.sites[0]!.owner)
    const { commitClearing } = await import('../../core/chain/commitClearing.ts')
    expect(await revertName(commitClearing(intruder, lm.market, clearing))).toBe('NotOperator')
  })

  it('match outside the order: more energy than ordered, price beyond a limit, wrong side', async () => {
    const interval = await freshInterval()
    const orders = await signOrders(lm, interval, baseSpecs)
    const clearing = clear(interval, orders)
    const bumped = clearing.matches.map((m, i) => (i === 0 ? m + 5000n : m))
    expect(await revertName(commit(lm, { ...clearing, matches: bumped }))).toBe('MatchExceedsOrder')
    expect(await revertName(commit(lm, { ...clearing, price: p(0.3) }))).toBe('PriceOutsideLimit')
    expect(await revertName(commit(lm, { ...clearing, price: p(0.05) }))).toBe('PriceOutsideLimit')
    const m0 = clearing.matches[0]!
    const flipped = (((m0 >> 32n) & 0xffn) << 40n) | (((m0 >> 40n) & 0xffn) << 32n) | (m0 & 0xffffffffn)
    expect(await revertName(commit(lm, { ...clearing, matches: [flipped, ...clearing.matches.slice(1)] }))).toBe('MatchWrongSide')
    expect(await revertName(commit(lm, { ...clearing, matches: [m0 | (9n << 40n)] }))).toBe('MatchOutOfRange')
  })

  it('over-cap energy: an order above the site nameplate cap', async () => {
    const interval = await freshInterval()
    const specs = baseSpecs.map((s) => (s.site === 0 ? { ...s, energyWh: 25_000 } : s))
    expect(await revertName(commit(lm, clear(interval, await signOrders(lm, interval, specs))))).toBe('EnergyExceedsCap')
  })

  it('malformed order signature (high s, zero r) and an order signed by someone else', async () => {
    const interval = await freshInterval()
    const clearing = clear(interval, await signOrders(lm, interval, baseSpecs))
    const [o0, ...rest] = clearing.orders
    // s just above n/2: ECDSA malleability, rejected (EIP-2); compact form keeps bit 255 for v
    const halfN = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n
    const highS = toHex((BigInt(o0!.vs) & (1n << 255n)) | (halfN + 1n), { size: 32 })
    expect(await revertName(commit(lm, { ...clearing, orders: [{ ...o0!, vs: highS }, ...rest] }))).toBe('MalformedSignature')
    expect(await revertName(commit(lm, { ...clearing, orders: [{ ...o0!, r: toHex(0n, { size: 32 }) }, ...rest] }))).toBe('MalformedSignature')
    const forged = await signOrder(lm.sites[5]!.owner, lm.domain, o0!)
    expect(await revertName(commit(lm, { ...clearing, orders: [forged, ...rest] }))).toBe('OrderSignerMismatch')
  })

  it('settlement before the interval ends, double settlement, tampered clearing', async () => {
    const c = await commitNext()
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const args = { clearing: c.clearing, siteRefs: c.siteRefs, readings }
    expect(await revertName(settleInterval(lm.wallet, lm.market, args))).toBe('SettlementTooEarly')
    await endInterval(c.clearing.interval)
    const cheaper = { ...args, clearing: { ...c.clearing, price: c.clearing.price - 1n } }
    expect(await revertName(settleInterval(lm.wallet, lm.market, cheaper))).toBe('ClearingMismatch')
    await lm.client.waitForTransactionReceipt({ hash: await settleInterval(lm.wallet, lm.market, args) })
    expect(await revertName(settleInterval(lm.wallet, lm.market, args))).toBe('AlreadySettled')
    const never = { ...args, clearing: { ...c.clearing, interval: c.clearing.interval + 1000n } }
    expect(await revertName(settleInterval(lm.wallet, lm.market, never))).toBe('IntervalNotCommitted')
  })

  it('settlement after the settle window has closed', async () => {
    const c = await commitNext()
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const endsAt = lm.intervalStart(c.clearing.interval + 1n)
    await lm.warpTo(endsAt + lm.config.settleWindowSec)
    const late = settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings })
    expect(await revertName(late)).toBe('SettlementExpired')
  })

  it('replayed reading, reading signed by the wrong key, malformed reading signature', async () => {
    const first = await commitNext()
    await endInterval(first.clearing.interval)
    const oldReadings = await settleExact(first)
    const c = await commitNext()
    await endInterval(c.clearing.interval)
    const good = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const settleWith = (readings: typeof good) =>
      settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings })
    // the same sites' readings from the previous interval
    expect(await revertName(settleWith(oldReadings))).toBe('ReadingWrongInterval')
    // ... with the interval rewritten: the signature no longer matches the meter key
    expect(await revertName(settleWith(oldReadings.map((r) => ({ ...r, interval: c.clearing.interval })))))
      .toBe('ReadingSignerMismatch')
    const byOwner = await signMeterReading(lm.sites[c.clearing.siteIds[0]!]!.owner, lm.domain, good[0]!)
    expect(await revertName(settleWith([byOwner, ...good.slice(1)]))).toBe('ReadingSignerMismatch')
    const zeroR = { ...good[0]!, r: toHex(0n, { size: 32 }) as Hex }
    expect(await revertName(settleWith([zeroR, ...good.slice(1)]))).toBe('MalformedSignature')
    expect(await revertName(settleWith(good.slice(1)))).toBe('ReadingCountMismatch')
    await lm.client.waitForTransactionReceipt({ hash: await settleWith(good) })
  })

  it('settles with the meter key of commit time after a key rotation', async () => {
    const c = await commitNext()
    const siteId = c.clearing.siteIds[0]!
    const owner = lm.walletFor(lm.sites[siteId]!.owner)
    const { privateKeyToAccount, generatePrivateKey } = await import('viem/accounts')
    const newMeter = privateKeyToAccount(generatePrivateKey())
    // the owner proposes, the operator co-signs (an owner alone cannot rotate its meter key)
    for (const wallet of [owner, lm.wallet]) {
      const rotate = await wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [siteId, newMeter.address] })
      await lm.client.waitForTransactionReceipt({ hash: rotate })
    }
    await endInterval(c.clearing.interval)
    await settleExact(c) // signed by the old key, which the clearing snapshotted
    const next = await commitNext()
    await endInterval(next.clearing.interval)
    expect(await revertName(settleExact(next))).toBe('ReadingSignerMismatch')
    const readings = await signReadings(lm, next.clearing, exactDelivery(next.clearing))
    readings[0] = await signMeterReading(newMeter, lm.domain, readings[0]!)
    const hash = await settleInterval(lm.wallet, lm.market, { clearing: next.clearing, siteRefs: next.siteRefs, readings })
    expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')
    lm.sites[siteId]!.meter = newMeter
  })

  it('dispute: a contradicting reading inside the window re-settles the offender at its worst case and slashes its bond; after finality it reverts', async () => {
    const specs: OrderSpec[] = [
      { site: 6, side: SIDE_ASK, energyWh: 1000, limitPrice: p(0.1) },
      { site: 7, side: SIDE_BID, energyWh: 1000, limitPrice: p(0.2) },
    ]
    const disputeWith = (c: Committed, readings: Awaited<ReturnType<typeof settleExact>>, contradicting: (typeof readings)[number], releasesHash?: Hex) => {
      const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
      const reporter = lm.walletFor(lm.sites[7]!.owner)
      // commit to the proof in an earlier block (the reward cannot be front-run), then reveal it
      const commitment = disputeCommitment({ sender: lm.sites[7]!.owner.address, reporterSiteId: 7, interval: c.clearing.interval, pos: 0n, reading: packReading(contradicting) })
      const dispute = async () => {
        await lm.client.waitForTransactionReceipt({ hash: await reporter.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitDispute', args: [commitment] }) })
        return reporter.writeContract({
          address: lm.market,
          abi: energyMarketAbi,
          functionName: 'dispute',
          args: [c.clearing.interval, c.clearing.price, c.siteRefs, c.clearing.matches, f.metas, releasesHash ?? f.releasesHash, 0n, packReading(contradicting), 7],
        })
      }
      return dispute()
    }
    const contradict = (readings: Awaited<ReturnType<typeof settleExact>>) =>
      signMeterReading(lm.sites[6]!.meter, lm.domain, { ...readings[0]!, exportWh: readings[0]!.exportWh - 400 })
    // after finality
    const late = await commitNext(specs)
    await endInterval(late.clearing.interval)
    const lateReadings = await settleExact(late)
    const [, settledAt] = await record(late.clearing.interval)
    await lm.warpTo(settledAt + lm.config.disputeWindowSec)
    expect(await revertName(disputeWith(late, lateReadings, await contradict(lateReadings)))).toBe('DisputeWindowClosed')
    await finalizeAfterWindow(late, lateReadings)

    // inside the window
    const [before6, before7] = await balances([6, 7])
    const c = await commitNext(specs)
    await endInterval(c.clearing.interval)
    const readings = await settleExact(c)
    expect(await revertName(disputeWith(c, readings, readings[0]!))).toBe('ReadingNotContradicting')
    const contradicting = await contradict(readings)
    expect(await revertName(disputeWith(c, readings, contradicting, keccak256('0x01')))).toBe('SettlementMismatch')
    const hash = await disputeWith(c, readings, contradicting)
    expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')
    // the offender (the seller, site 6) is re-settled at its worst case, as if it had withheld
    // its reading; the record stays settled with the new releases; its whole bond went to
    // the reporter
    expect((await record(c.clearing.interval))[0]).toBe(2)
    expect(await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [6] })).toBe(0n)
    const f = buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
    await lm.warpTo((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
    expect(await revertName(finalizeInterval(lm.wallet, lm.market, f))).toBe('SettlementMismatch')
    await finalizeAfterWindow(c, [null, readings[1]!])
    const penalty = (1000n * c.clearing.price * lm.config.penaltyBps) / 10_000_000n
    const [after6, after7] = await balances([6, 7])
    expect(after6! - before6!).toBe(-penalty) // delivered nothing, as far as the market knows
    expect(after7! - before7!).toBe(penalty + lm.config.bond)
    expect(await revertName(disputeWith(c, readings, contradicting))).toBe('NotSettled')
    // the offender stays registered but cannot trade until a deposit restores its bond
    const [site6] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'site', args: [6] })
    expect(site6.active).toBe(true)
    const interval = await freshInterval()
    expect(await revertName(commit(lm, clear(interval, await signOrders(lm, interval, specs))))).toBe('BondNotPosted')
  })
})

describe('escrow', () => {
  it('a commit locks the worst case: a short buyer is refused at commit, and a withdrawal after commit cannot reach the lock', async () => {
    const specs: OrderSpec[] = [
      { site: 4, side: SIDE_ASK, energyWh: 10_000, limitPrice: p(0.1) },
      { site: 5, side: SIDE_BID, energyWh: 10_000, limitPrice: p(0.2) },
    ]
    const buyer = lm.sites[5]!
    const wallet = lm.walletFor(buyer.owner)
    const withdrawAll = async () => {
      const available = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [5] })
      if (available === 0n) return
      await requestAndWait(5, available)
      const due = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdrawable', args: [5] })
      if (due > 0n) await lm.client.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [5, due] }) })
    }
    // the buyer keeps only its (reserved) bond: the commit is refused, nothing is locked
    await withdrawAll()
    const interval = await freshInterval()
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    expect(await revertName(commit(lm, clearing))).toBe('InsufficientEscrow')
    expect(await balances([5])).toEqual([0n])
    // with enough escrow it commits; the buyer then withdraws all it can
    const boughtWh = BigInt(clearing.matches.reduce((a, m) => a + Number(m & 0xffffffffn), 0))
    const value = (boughtWh * clearing.price) / 1000n
    // a buyer's lock is the full value plus the penalty (what it pays if it withholds its reading)
    const buyerBps = lm.config.penaltyBps < 10_000n ? 10_000n : lm.config.penaltyBps // never cheaper than the energy
    const lock = (boughtWh * clearing.price * (10_000n + buyerBps)) / 10_000_000n
    await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, lock] }) })
    await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, lock] }) })
    await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [5, lock] }) })
    const [sellerBefore] = await balances([4])
    const c = await commit(lm, clearing)
    await withdrawAll()
    expect(await balances([5])).toEqual([0n])
    // ... and the seller is still paid in full: the lock, not the free balance, pays
    await endInterval(interval)
    const readings = await settleExact(c)
    await finalizeAfterWindow(c, readings)
    const [sellerAfter, buyerAfter] = await balances([4, 5])
    expect(sellerAfter! - sellerBefore!).toBe(value)
    expect(buyerAfter).toBe(lock - value) // the penalty part of the lock comes back
  })
})

// keep the ABI encoder honest about the packed reading layout the contract decodes
it('packReading puts interval, import and export where the contract reads them', () => {
  const meta = packReading({ siteId: 1, interval: 7n, importWh: 5, exportWh: 9, r: '0x00', vs: '0x00' }).meta
  expect(encodeAbiParameters([{ type: 'uint256' }], [meta])).toBe(
    encodeAbiParameters([{ type: 'uint64' }, { type: 'uint32' }, { type: 'uint32' }], [0n, 0, 0]).slice(0, 2) +
      toHex((7n << 64n) | (5n << 32n) | 9n, { size: 32 }).slice(2),
  )
})

describe('registry limits and exit', () => {
  it('a site that leaves gets its bond back only after every interval it could be in is final', async () => {
    const site = lm.sites[4]!
    const owner = lm.walletFor(site.owner)
    const read = (functionName: 'withdrawable' | 'balanceOf') =>
      lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName, args: [site.siteId] })
    const leave = await owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'setActive', args: [site.siteId, false] })
    const leaving = await lm.client.waitForTransactionReceipt({ hash: leave })
    // the owner's leave takes effect after the commit delay (orders it signed can still be committed)
    const [event] = parseEventLogs({ abi: energyMarketAbi, logs: leaving.logs, eventName: 'SiteLeaving' })
    await lm.warpTo(event!.args.activeUntil)
    const { blockNumber } = await lm.client.waitForTransactionReceipt({
      hash: await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'completeLeave', args: [site.siteId] }),
    })
    expect(await read('withdrawable')).toBe(await read('balanceOf'))
    const rejoin = owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'setActive', args: [site.siteId, true] })
    expect(await revertName(rejoin)).toBe('NotOperator')
    const { timestamp } = await lm.client.getBlock({ blockNumber })
    const exitDelay = 3n * lm.config.intervalSec + lm.config.settleWindowSec + lm.config.disputeWindowSec
    await lm.warpTo(timestamp + exitDelay)
    expect(await read('withdrawable')).toBe((await read('balanceOf')) + lm.config.bond)
  })

  it('caps the number of sites per market', async () => {
    const max = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'MAX_SITES' })
    const count = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'siteCount' })
    const register = () =>
      lm.wallet.writeContract({
        address: lm.market,
        abi: energyMarketAbi,
        functionName: 'registerSite',
        args: [lm.operator.address, lm.operator.address, 1000, 1000],
      })
    const tooBig = lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [lm.operator.address, lm.operator.address, 2 ** 28, 1000] })
    expect(await revertName(tooBig)).toBe('BadParameter') // caps are 28-bit in the registry slot
    let last: Hex | undefined
    for (let i = count; i < max; i++) last = await register()
    await lm.client.waitForTransactionReceipt({ hash: last! })
    expect(await revertName(register())).toBe('TooManySites')
  })
})
