// A seeded fuzz over the edges of EnergyMarket's packed fields (issue 14, attack 6), on anvil,
// written as the attacker: every round takes one interval from commit to finalize, with
//  - orders whose signed fields sit at their edges (energy 1, the cap, the cap + 1, 2^32 - 1;
//    prices 1, 2^32, 2^63, 2^64 - 1), and meter readings at theirs (0, the traded energy +- 1,
//    2^32 - 1): each commit or settlement either goes through with exactly the locks and
//    releases computeSettlement says, or reverts with one of the market's named errors;
//  - words changed after signing (one bit flipped at a field boundary of an order, a reading,
//    a match or a release, or the interval above 32 bits): a signed or hashed word is never
//    accepted changed; a changed match may only commit if it is a valid clearing, and then
//    it locks what it says;
//  - deposits, withdrawal requests, withdrawals and registry caps at their edges (the 2^41
//    deposit cap, the 42-bit lane, 2^64, 2^256 - 1; caps 2^28 - 1 and 2^28).
// (Income past the 42-bit lane into the side balance, and a lock of exactly the free balance,
// are contracts-fields.test.ts's: prices that reach them are too rare to find at random.)
// After every transaction the token the market holds equals every site's withdrawable
// balance (free + side balance) plus bonds plus the locks of open intervals, and no site
// outside the transaction moved. FIELD_FUZZ_SEED=<n> replays a run; the seed is printed.
import { BaseError as ViemBaseError, ContractFunctionRevertedError, decodeErrorResult, parseEventLogs, type Hex, type TransactionReceipt } from 'viem'
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { orderArgs } from '../../core/chain/commitClearing.ts'
import { committedSiteRefs } from '../../core/chain/committedSiteRefs.ts'
import { settleArgs } from '../../core/chain/settleArgs.ts'
import { encodeStep } from '../../core/chain/stepMarket.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { MarketInputError } from '../../core/market/MarketInputError.ts'
import type { SignedMeterReading } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { createSeededRandom } from '../../core/random/createSeededRandom.ts'
import { clear, signOrders, signReadings, unpackMatches, type Committed, type OrderSpec } from '../fixtures/market/marketFlow.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'

const SITES = 6
const ROUNDS = Number(process.env.FIELD_FUZZ_ROUNDS ?? 80)
const seed = Number(process.env.FIELD_FUZZ_SEED ?? 20_261_203)
const CAP_WH = 20_000
const LANE = (1n << 42n) - 1n
const DEPOSIT_CAP = 1n << 41n
const U64 = (1n << 64n) - 1n
const U256 = (1n << 256n) - 1n
const marketErrors = new Set<string>(energyMarketAbi.filter((x) => x.type === 'error').map((x) => x.name))

let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: SITES, importCapWh: CAP_WH, exportCapWh: CAP_WH, depositEach: 0n, config: { settleWindowSec: 1_800n, disputeWindowSec: 600n, ringSize: 64n } })
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

type Outcome = { ok: true; receipt: TransactionReceipt } | { ok: false; error: string }

/** Sends and mines; a revert comes back as its decoded error name ('Panic', 'Error' or an unknown selector are names too, and fail the checks). */
async function attempt(send: () => Promise<Hex>): Promise<Outcome> {
  try {
    const receipt = await lm.client.waitForTransactionReceipt({ hash: await send() })
    return receipt.status === 'success' ? { ok: true, receipt } : { ok: false, error: 'reverted without data' }
  } catch (error) {
    if (!(error instanceof ViemBaseError)) throw error
    const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
    if (reverted instanceof ContractFunctionRevertedError) return { ok: false, error: reverted.data?.errorName ?? `unnamed (${reverted.signature ?? reverted.shortMessage})` }
    const raw = error.walk((e) => typeof (e as { data?: unknown }).data === 'string') as { data?: Hex } | null
    if (!raw?.data) return { ok: false, error: `no revert data: ${error.shortMessage}` }
    try {
      return { ok: false, error: decodeErrorResult({ abi: energyMarketAbi, data: raw.data }).errorName }
    } catch {
      return { ok: false, error: `unknown selector ${raw.data.slice(0, 10)}` }
    }
  }
}

it(`packed fields at their edges and words changed after signing, over ${ROUNDS} intervals (seed ${seed})`, async () => {
  console.log(`contracts-fields-fuzz: seed ${seed} (FIELD_FUZZ_SEED to replay)`)
  const rand = createSeededRandom(seed)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const int = (n: number) => Math.floor(rand() * n)
  const read = (functionName: 'balanceOf' | 'bondOf' | 'withdrawable', id: number) =>
    lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName, args: [id] })
  const now = async () => (await lm.client.getBlock()).timestamp
  let siteCount = SITES
  const openLocks = new Map<bigint, bigint>()
  const counts: Record<string, number> = {}
  const count = (what: string) => (counts[what] = (counts[what] ?? 0) + 1)

  const snapshot = async () => {
    const s: bigint[] = []
    for (let id = 0; id < siteCount; id++) s.push((await read('withdrawable', id)) + (await read('bondOf', id)))
    return s
  }
  const checkConserved = async (where: string) => {
    const held = await lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
    const inside = (await snapshot()).reduce((a, b) => a + b, 0n) + [...openLocks.values()].reduce((a, b) => a + b, 0n)
    expect(inside, `escrow after ${where} (seed ${seed})`).toBe(held)
  }
  /** A refused transaction moved nothing; `where` names it. */
  const expectRefused = async (o: Outcome, where: string, before: bigint[]) => {
    expect(o.ok, `${where} must be refused (seed ${seed})`).toBe(false)
    if (!o.ok) expect(marketErrors.has(o.error), `${where}: reverted with ${o.error}, not one of the market's named errors (seed ${seed})`).toBe(true)
    expect(await snapshot(), `${where} moved balances (seed ${seed})`).toEqual(before)
  }
  const expectNamed = (o: Outcome, where: string, allowed: readonly string[]) => {
    if (!o.ok) expect(allowed, `${where}: reverted with ${o.error} (seed ${seed})`).toContain(o.error)
  }
  const mintAndApprove = async (amount: bigint, approve: bigint) => {
    if (amount > 0n) await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, amount] }) })
    await lm.client.waitForTransactionReceipt({ hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, approve] }) })
  }
  const flip = (word: bigint, bits: readonly number[]) => word ^ (1n << BigInt(pick(bits)))

  // every site starts with its bond and some free balance (the deposits below walk the cap)
  for (let id = 0; id < SITES; id++) {
    const amount = lm.config.bond + 10n ** 9n + BigInt(int(1_000_000_000))
    await mintAndApprove(amount, amount)
    expect((await attempt(() => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [id, amount] }))).ok).toBe(true)
  }
  await checkConserved('setup')
  const requests = new Map<number, { dueAt: bigint; amount: bigint }>()

  for (let round = 0; round < ROUNDS; round++) {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n

    // --- a book at the edges: one seller, one or two buyers
    const [seller, ...buyers] = [...Array(SITES).keys()].sort(() => rand() - 0.5).slice(0, 2 + int(2))
    const energyEdge = () => pick([1, 2, CAP_WH - 1, CAP_WH, CAP_WH + 1, 2 ** 32 - 1, 1 + int(CAP_WH), 1 + int(CAP_WH), 1 + int(CAP_WH)])
    const priceEdge = () => pick([1n, 2n, 1n << 32n, 1n << 63n, U64, BigInt(50_000 + int(100_000)), BigInt(50_000 + int(100_000))])
    const bidPrice = priceEdge()
    const askPrice = (() => {
      const p = priceEdge()
      return p <= bidPrice ? p : bidPrice
    })()
    const specs: OrderSpec[] = [
      { site: seller!, side: SIDE_ASK, energyWh: energyEdge(), limitPrice: askPrice } as OrderSpec,
      ...buyers.map((site): OrderSpec => ({ site, side: SIDE_BID, energyWh: energyEdge(), limitPrice: bidPrice })),
    ].sort((a, b) => a.site - b.site)
    let clearing: ReturnType<typeof clear> | null
    try {
      clearing = clear(interval, await signOrders(lm, interval, specs))
    } catch (error) {
      if (!(error instanceof MarketInputError)) throw error
      clearing = null // did not cross
    }
    let committed: Committed | null = null
    if (clearing) {
      const orders = orderArgs(clearing)
      const sendCommit = (i: bigint, o: typeof orders, matches: readonly bigint[]) => () =>
        lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitClearing', args: [i, clearing!.price, o, [...matches]] })
      // an order word changed after signing: one bit at a field boundary
      // (deadline 0..63, price 64..127, energy 128..159, side 160..167, interval 168..199, site 200..231, unused 232..255)
      const k = int(orders.length)
      const before = await snapshot()
      const changedOrder = orders.map((o, j) => (j === k ? { ...o, meta: flip(o.meta, [0, 63, 64, 127, 128, 159, 160, 161, 167, 168, 199, 200, 231, 232, 255]) } : o))
      await expectRefused(await attempt(sendCommit(interval, changedOrder, clearing.matches)), `round ${round}: commit with order ${k}'s word changed`, before)
      // the interval above 32 bits (its low bits the signed one)
      await expectRefused(await attempt(sendCommit(interval | (1n << BigInt(32 + int(32))), orders, clearing.matches)), `round ${round}: commit of an interval above 2^32`, before)
      count('changed order refused')
      // a match word changed (seller 40..47, buyer 32..39, energy 0..31, unused 48..255): refused, or a valid clearing that locks what it says
      let matches = clearing.matches
      if (rand() < 0.3) {
        const m = int(matches.length)
        matches = matches.map((w, j) => (j === m ? flip(w, [0, 1, 31, 32, 39, 40, 47, 48, 200, 255]) : w))
      }
      const o = await attempt(sendCommit(interval, orders, matches))
      expectNamed(o, `round ${round}: commit`, ['InsufficientEscrow', 'EnergyExceedsCap', 'MatchOutOfRange', 'MatchWrongSide', 'MatchExceedsOrder', 'UnmatchedOrder', 'BadParameter'])
      if (o.ok) {
        const changedMatch = matches !== clearing.matches
        clearing = { ...clearing, matches: [...matches] }
        const { locks } = computeSettlement({ price: clearing.price, penaltyBps: lm.config.penaltyBps, readings: clearing.siteIds.map(() => null), matches: unpackMatches(clearing.matches) })
        const after = await snapshot()
        // each matched site's free balance went down by exactly its lock; nobody else moved
        expect(after.map((b, id) => before[id]! - b), `round ${round}: locks (seed ${seed})`).toEqual(before.map((_, id) => { const p = clearing!.siteIds.indexOf(id); return p < 0 ? 0n : locks[p]! }))
        openLocks.set(interval, locks.reduce((a, b) => a + b, 0n))
        committed = { clearing, siteRefs: await committedSiteRefs(lm.client, lm.market, clearing, o.receipt), hash: o.receipt.transactionHash, gasUsed: o.receipt.gasUsed }
        count('committed')
        if (changedMatch) count('committed with a changed match')
      } else {
        expect(await snapshot(), `round ${round}: a refused commit moved balances (seed ${seed})`).toEqual(before)
        count(`commit refused: ${o.error}`)
      }
      await checkConserved(`round ${round}: commit`)
    } else count('no cross')

    // --- settle at the end of the interval with readings at their edges
    if (committed) {
      await lm.warpTo(lm.intervalStart(interval + 1n))
      const c = committed.clearing
      const traded = new Map<number, number>()
      for (const m of unpackMatches(c.matches)) for (const p of [m.sellerPos, m.buyerPos]) traded.set(p, (traded.get(p) ?? 0) + m.energyWh)
      const edge = (p: number) => pick([0, Math.max(0, (traded.get(p) ?? 0) - 1), traded.get(p) ?? 0, (traded.get(p) ?? 0) + 1, 2 ** 31, 2 ** 32 - 1, int(CAP_WH)])
      const readings: SignedMeterReading[] = await signReadings(lm, c, (id) => {
        const p = c.siteIds.indexOf(id)
        return { importWh: edge(p), exportWh: edge(p) }
      })
      const args = settleArgs({ clearing: c, siteRefs: committed.siteRefs, readings })
      const sendSettle = (packed: typeof args[4]) => () =>
        lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'settle', args: [args[0], args[1], args[2], args[3], packed] })
      // a reading word changed after signing (export 0..31, import 32..63, interval 64..127, unused 128..255)
      const k = int(args[4].length)
      const before = await snapshot()
      await expectRefused(await attempt(sendSettle(args[4].map((r, j) => (j === k ? { ...r, meta: flip(r.meta, [0, 31, 32, 63, 64, 95, 127, 128, 200, 254]) } : r)))), `round ${round}: settle with reading ${k}'s word changed`, before)
      count('changed reading refused')
      const o = await attempt(sendSettle(args[4]))
      expect(o.ok ? 'settled' : o.error, `round ${round}: settle (seed ${seed})`).toBe('settled')
      await checkConserved(`round ${round}: settle`)
      const f = buildFinalization({ clearing: c, siteRefs: committed.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
      await lm.warpTo((await now()) + lm.config.disputeWindowSec + 1n)
      // a release word changed (amount 0..63, site 64..95, unused 96..255): the hash refuses it
      const changed = f.releases.map((r, j) => (j === k ? flip(r, [0, 41, 42, 63, 64, 95, 96, 200, 255]) : r))
      const sendFinalize = (releases: readonly bigint[]) => () => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'finalize', args: [f.interval, f.inputsHash, [...releases]] })
      const beforeFinal = await snapshot()
      await expectRefused(await attempt(sendFinalize(changed)), `round ${round}: finalize with release ${k} changed`, beforeFinal)
      count('changed release refused')
      const fin = await attempt(sendFinalize(f.releases))
      expect(fin.ok ? 'finalized' : fin.error, `round ${round}: finalize (seed ${seed})`).toBe('finalized')
      openLocks.delete(interval)
      const after = await snapshot()
      // each site gained exactly its release (into its lane, or its side balance past 2^42 - 1)
      expect(after.map((b, id) => b - beforeFinal[id]!), `round ${round}: releases (seed ${seed})`).toEqual(
        beforeFinal.map((_, id) => { const p = c.siteIds.indexOf(id); return p < 0 ? 0n : f.releases[p]! & U64 }),
      )
      for (const id of c.siteIds) expect(await read('balanceOf', id)).toBeLessThanOrEqual(LANE)
      count('finalized')
      await checkConserved(`round ${round}: finalize`)
    }

    // --- money and registry at their edges
    const site = int(SITES)
    const owner = lm.walletFor(lm.sites[site]!.owner)
    const before = await snapshot()
    const request = requests.get(site)
    const action = pick(['deposit', 'deposit', 'withdraw', 'register'] as const)
    if (action === 'withdraw' && request && (await now()) >= request.dueAt) {
      const available = (await read('withdrawable', site)) < request.amount ? await read('withdrawable', site) : request.amount
      const amount = pick([available, available + 1n, 1n, U256, request.amount])
      const o = await attempt(() => owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'withdraw', args: [site, amount] }))
      expectNamed(o, `round ${round}: withdraw ${amount} of ${available}`, ['WithdrawExceedsAvailable', 'ZeroAmount'])
      expect(o.ok, `round ${round}: withdraw ${amount} of ${available} (seed ${seed})`).toBe(amount >= 1n && amount <= available)
      expect(await snapshot()).toEqual(before.map((b, id) => (id === site && o.ok ? b - amount : b)))
      if (o.ok) requests.delete(site)
      count(`withdraw ${o.ok ? 'paid' : 'refused'}`)
    } else if (action === 'withdraw') {
      const amount = pick([1n, LANE, LANE + 1n, 1n << 64n, U256, BigInt(1 + int(10 ** 9))])
      const o = await attempt(() => owner.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'requestWithdrawal', args: [site, amount] }))
      expectNamed(o, `round ${round}: request ${amount}`, ['BadParameter'])
      expect(o.ok, `round ${round}: request ${amount} (seed ${seed})`).toBe(amount <= LANE)
      if (o.ok) {
        const [event] = parseEventLogs({ abi: energyMarketAbi, logs: o.receipt.logs, eventName: 'WithdrawalRequested' })
        requests.set(site, { dueAt: event!.args.dueAt, amount })
      }
      expect(await snapshot()).toEqual(before)
      count(`request ${o.ok ? 'taken' : 'refused'}`)
    } else if (action === 'deposit') {
      const bal = await read('balanceOf', site)
      const room = DEPOSIT_CAP - bal
      const amount = pick([1n, room, room + 1n, room - 1n, LANE, 1n << 64n, 1n << 128n, U256].filter((x) => x > 0n))
      const fits = amount <= room
      await mintAndApprove(fits ? amount : 0n, amount)
      const o = await attempt(() => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [site, amount] }))
      expectNamed(o, `round ${round}: deposit ${amount} into ${bal}`, ['BalanceOverflow'])
      expect(o.ok, `round ${round}: deposit ${amount} into ${bal} (seed ${seed})`).toBe(fits)
      expect(await snapshot()).toEqual(before.map((b, id) => (id === site && o.ok ? b + amount : b)))
      if (o.ok) expect(await read('balanceOf', site)).toBe(bal + amount)
      count(`deposit ${o.ok ? 'taken' : 'refused'}`)
    } else if (siteCount < 12) {
      const cap = pick([0, 1, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1])
      const args = [privateKeyToAccount(generatePrivateKey()).address, privateKeyToAccount(generatePrivateKey()).address, cap, pick([1, 2 ** 28 - 1, 2 ** 28])] as const
      const o = await attempt(() => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args }))
      expectNamed(o, `round ${round}: register caps ${args[2]}/${args[3]}`, ['BadParameter'])
      expect(o.ok, `round ${round}: register caps ${args[2]}/${args[3]} (seed ${seed})`).toBe(args[2] < 2 ** 28 && args[3] < 2 ** 28)
      if (o.ok) {
        siteCount++
        const [s] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'site', args: [siteCount - 1] })
        expect([s.importCapWh, s.exportCapWh]).toEqual([args[2], args[3]])
      }
      count(`register ${o.ok ? 'taken' : 'refused'}`)
    }
    await checkConserved(`round ${round}: ${action}`)
  }
  console.log(`contracts-fields-fuzz: seed ${seed}: ${JSON.stringify(counts)}`)
  // the run walked the paths it is about
  expect(counts.committed ?? 0).toBeGreaterThan(3)
  expect(counts.finalized ?? 0).toBeGreaterThan(3)
  expect(Object.keys(counts).filter((k) => k.startsWith('commit refused')).length).toBeGreaterThan(0)
  expect((counts['deposit refused'] ?? 0) + (counts['deposit taken'] ?? 0)).toBeGreaterThan(3)
}, 900_000)

it(`a step with a bit flipped in its unused bits or its counts is refused and moves nothing (seed ${seed})`, async () => {
  const rand = createSeededRandom(seed + 1)
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
  const mined = async (hash: Promise<Hex>) => expect((await lm.client.waitForTransactionReceipt({ hash: await hash })).status).toBe('success')
  const sendStep = (data: Hex) => () => lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'marketStep', dataSuffix: data })
  const specs: OrderSpec[] = [
    { site: 0, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n },
    { site: 1, side: SIDE_BID, energyWh: 1000, limitPrice: 200_000n },
  ]
  const commitAt = async (interval: bigint) => {
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    const hash = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'commitClearing', args: [interval, clearing.price, orderArgs(clearing), clearing.matches] })
    const receipt = await lm.client.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    return { clearing, siteRefs: await committedSiteRefs(lm.client, lm.market, clearing, receipt) }
  }
  const held = () => lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
  const balances = () => Promise.all([0, 1].map((id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })))
  // the fuzz above may have left sites 0 and 1 short (withdrawals) or at the cap: top them up to enough
  for (const id of [0, 1]) {
    const bal = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] })
    if (bal >= 10_000_000n) continue
    for (const [functionName, args] of [['mint', [lm.operator.address, 10_000_000n]], ['approve', [lm.market, 10_000_000n]]] as const)
      await mined(lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName, args }))
    await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [id, 10_000_000n] }))
  }
  // a settled interval a (final by the step), an ended interval b (settled by it), c committed by it
  const n = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(n))
  const a = await commitAt(n + 1n)
  await lm.warpTo(lm.intervalStart(n + 1n))
  const b = await commitAt(n + 2n)
  await lm.warpTo(lm.intervalStart(n + 2n))
  const readingsA = await signReadings(lm, a.clearing, () => ({ importWh: 1000, exportWh: 1000 }))
  await mined(lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'settle', args: settleArgs({ clearing: a.clearing, siteRefs: a.siteRefs, readings: readingsA }) }))
  await lm.warpTo(lm.intervalStart(n + 3n))
  const readingsB = await signReadings(lm, b.clearing, () => ({ importWh: 1000, exportWh: 1000 }))
  const fa = buildFinalization({ clearing: a.clearing, siteRefs: a.siteRefs, readings: readingsA, penaltyBps: lm.config.penaltyBps })
  const c = n + 4n
  const data = encodeStep({ finals: [fa], settle: { clearing: b.clearing, siteRefs: b.siteRefs, readings: readingsB }, commit: clear(c, await signOrders(lm, c, specs)), penaltyBps: lm.config.penaltyBps })
  const words = (data.length - 2) / 64
  const wordOf = (h: Hex, i: number) => BigInt(`0x${h.slice(2 + 64 * i, 2 + 64 * (i + 1))}`)
  const withWord = (h: Hex, i: number, w: bigint): Hex => `0x${h.slice(2, 2 + 64 * i)}${w.toString(16).padStart(64, '0')}${h.slice(2 + 64 * (i + 1))}`
  expect(words).toBeGreaterThan(3)
  const before = [await held(), ...(await balances())]
  const tried: string[] = []
  for (let k = 0; k < 24; k++) {
    // the head's unused bits (the low 24, 120..183, 232..239) and its counts (finals 248..,
    // sites 240.., orders 224.., commit matches 216..); the final word's bits above interval |
    // count (40..255) and its release count (0..7)
    const [word, bit] = pick([
      () => [0, Math.floor(rand() * 24)] as const,
      () => [0, 120 + Math.floor(rand() * 64)] as const,
      () => [0, pick([216, 223, 224, 231, 232, 239, 240, 247, 248, 255])] as const,
      () => [1, 40 + Math.floor(rand() * 216)] as const,
      () => [1, Math.floor(rand() * 8)] as const,
    ])()
    const o = await attempt(sendStep(withWord(data, word, wordOf(data, word) ^ (1n << BigInt(bit)))))
    tried.push(`${word}:${bit}`)
    expect(o.ok, `step with word ${word} bit ${bit} flipped must be refused (seed ${seed})`).toBe(false)
    if (!o.ok) expect(marketErrors.has(o.error), `step with word ${word} bit ${bit} flipped: ${o.error} (seed ${seed})`).toBe(true)
  }
  expect([await held(), ...(await balances())]).toEqual(before)
  const clean = await attempt(sendStep(data))
  expect(clean.ok ? 'stepped' : clean.error).toBe('stepped')
  console.log(`contracts-fields-fuzz: step bits flipped (word:bit): ${tried.join(' ')}`)
}, 120_000)
