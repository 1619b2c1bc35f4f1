// Gas of the peer-to-peer market on a local anvil, against a plain ERC-20 transfer
// measured in the same run.
// - Per trade, batches of 1, 5, 20 and 50 trades (one interval each, n+1 sites): the
//   settle transaction, the finalize transaction that later credits the balances, and
//   both together; for sites that share balance slots (typical: neighbouring ids) and for
//   sites that each have their own balance slot (worst case).
// - Per 5-site interval in the steady state of a live market: ONE transaction, a step
//   (marketStep()), finalizes the interval whose ring slot is reused, settles interval n
//   with its 5 signed readings and the releases they give (named by the clearing's hash,
//   bound unchecked: AuctionVerifier.proveSettlement) and commits interval n+2 with its 5
//   signed orders (every match checked), all in packed data after the selector
//   (core/chain/stepMarket.ts).
//   Its gas is the whole chain cost of one interval. The standalone commit and settle of
//   a 5-site interval are reported beside it.
// - All-in per trade (commit + settle + finalize), the figure issue 14 asks for, two ways:
//   standalone transactions (commitClearing, settle, finalize: each checks every signature,
//   three base fees), and a live market's step at batch 5 and 20 (one transaction per
//   interval that finalizes, settles and commits; it checks no signature and computes no
//   settlement, binding them for the proofs in AuctionVerifier), steady state once the ring
//   has wrapped; with the step's calldata share (16 gas a nonzero byte, 4 a zero byte).
// - A registry write: registerSite for the 5th and for the 64th site (every registry change
//   writes the whole hot registry as a new data contract, so its cost grows with the sites).
// Last stdout line: {"bench":"gas","results":{...},"ratios":{...},"targets":{...}}
import { energyMarketAbi, settlementTokenAbi } from '../contracts/abi.ts'
import { buildFinalization, type Finalization } from '../core/chain/buildFinalization.ts'
import { committedSiteRefs } from '../core/chain/committedSiteRefs.ts'
import { createLocalMarket, type LocalMarket } from '../test/support/createLocalMarket.ts'
import { finalizeInterval } from '../core/chain/finalizeInterval.ts'
import { settleInterval } from '../core/chain/settleInterval.ts'
import { startAnvil } from '../core/chain/startAnvil.ts'
import { stepMarket } from '../core/chain/stepMarket.ts'
import { SIDE_ASK, SIDE_BID } from '../core/market/typedData.ts'
import { clear, commit, exactDelivery, signOrders, signReadings, type Committed, type OrderSpec } from '../test/fixtures/market/marketFlow.ts'

const batches = [1, 5, 20, 50] as const
const repeats = 3
const hardfork = 'prague'
// a short settle window keeps the ring small (9 records), as a live market would run it
const marketConfig = { settleWindowSec: 1_800n, disputeWindowSec: 3_600n }

/** A deterministic order book on `siteIds` whose clearing has exactly siteIds.length-1 trades. */
function orderBook(siteIds: readonly number[], seed: number): OrderSpec[] {
  let x = seed
  const rand = () => {
    x = (x * 1103515245 + 12345) % 2147483648
    return x / 2147483648
  }
  const sellers = Math.max(1, Math.floor(siteIds.length / 2))
  return siteIds.map((site, i) => {
    const ask = i < sellers
    return {
      site,
      side: ask ? SIDE_ASK : SIDE_BID,
      energyWh: 500 + Math.floor(rand() * 4000),
      limitPrice: BigInt(ask ? 60_000 + Math.floor(rand() * 40_000) : 150_000 + Math.floor(rand() * 50_000)),
    }
  })
}

async function nextFreeInterval(lm: LocalMarket): Promise<bigint> {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

async function gasOf(lm: LocalMarket, hash: `0x${string}`, what: string): Promise<bigint> {
  const receipt = await lm.client.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new Error(`${what} ${hash} reverted`)
  return receipt.gasUsed
}

/** A seed whose order book on `siteIds` clears into `trades` matches. */
async function findSeed(lm: LocalMarket, siteIds: readonly number[], trades: number): Promise<number> {
  for (let seed = 1; seed < 500; seed++) {
    const specs = orderBook(siteIds, seed)
    const clearing = clear(0n, await signOrders(lm, 0n, specs))
    if (clearing.matches.length === trades && clearing.siteIds.length === siteIds.length) return seed
  }
  throw new Error(`no order book on ${siteIds.length} sites clears into ${trades} trades`)
}

type Measured = { commitGas: bigint; settleGas: bigint; finalizeGas: bigint }

/** Commits, settles and (after the dispute window) finalizes one interval; gas of each. */
async function measureInterval(lm: LocalMarket, siteIds: readonly number[], seed: number): Promise<Measured> {
  const interval = await nextFreeInterval(lm)
  const clearing = clear(interval, await signOrders(lm, interval, orderBook(siteIds, seed)))
  const committed = await commit(lm, clearing)
  await lm.warpTo(lm.intervalStart(interval + 1n))
  const readings = await signReadings(lm, clearing, exactDelivery(clearing))
  const settleGas = await gasOf(lm, await settleInterval(lm.wallet, lm.market, { clearing, siteRefs: committed.siteRefs, readings }), 'settle')
  const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
  await lm.warpTo(settledAt + lm.config.disputeWindowSec)
  const f = buildFinalization({ clearing, siteRefs: committed.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
  const finalizeGas = await gasOf(lm, await finalizeInterval(lm.wallet, lm.market, f), 'finalize')
  return { commitGas: committed.gasUsed, settleGas, finalizeGas }
}

/**
 * A live market on `siteIds`: intervals committed two ahead, and from then on one step
 * per interval (finalize the ring slot's previous interval, settle n, commit n+2). Returns
 * the gas of the steps once the ring has wrapped (every commit reuses a slot and finalizes).
 */
async function measureSteadyState(lm: LocalMarket, siteIds: readonly number[], seed: number, steps: number, calldata: bigint[] = []): Promise<bigint[]> {
  const ring = lm.config.ringSize
  const specs = orderBook(siteIds, seed)
  const prepare = async (interval: bigint) => clear(interval, await signOrders(lm, interval, specs))
  const first = await nextFreeInterval(lm)
  const committed = new Map<bigint, Committed>()
  const settled = new Map<bigint, Finalization>()
  committed.set(first, await commit(lm, await prepare(first)))
  committed.set(first + 1n, await commit(lm, await prepare(first + 1n)))
  const gas: bigint[] = []
  const total = Number(ring) + steps
  for (let i = 0; i < total; i++) {
    const n = first + BigInt(i)
    await lm.warpTo(lm.intervalStart(n + 1n))
    const c = committed.get(n)!
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    const next = await prepare(n + 2n)
    const occupant = settled.get(n + 2n - ring)
    const hash = await stepMarket(lm.wallet, lm.market, {
      finals: occupant ? [occupant] : [],
      settle: { clearing: c.clearing, siteRefs: c.siteRefs, readings },
      commit: next,
    })
    const used = await gasOf(lm, hash, 'step')
    if (occupant) {
      gas.push(used)
      const input = (await lm.client.getTransaction({ hash })).input.slice(2)
      let cost = 0n
      for (let i = 0; i < input.length; i += 2) cost += input.slice(i, i + 2) === '00' ? 4n : 16n
      calldata.push(cost)
    }
    settled.set(n, buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps }))
    const receipt = await lm.client.getTransactionReceipt({ hash })
    committed.set(n + 2n, { clearing: next, siteRefs: await committedSiteRefs(lm.client, lm.market, next, receipt), hash, gasUsed: 0n })
  }
  // wind down: settle the two committed intervals, then finalize whatever is still settled
  for (const n of [first + BigInt(total), first + BigInt(total) + 1n]) {
    await lm.warpTo(lm.intervalStart(n + 1n))
    const c = committed.get(n)!
    const readings = await signReadings(lm, c.clearing, exactDelivery(c.clearing))
    await gasOf(lm, await settleInterval(lm.wallet, lm.market, { clearing: c.clearing, siteRefs: c.siteRefs, readings }), 'settle')
    settled.set(n, buildFinalization({ clearing: c.clearing, siteRefs: c.siteRefs, readings, penaltyBps: lm.config.penaltyBps }))
  }
  await lm.warpTo(lm.intervalStart(first + BigInt(total) + 3n) + lm.config.disputeWindowSec)
  for (const f of settled.values()) {
    const [status] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [f.interval] })
    if (status === 2) await gasOf(lm, await finalizeInterval(lm.wallet, lm.market, f), 'finalize')
  }
  return gas.slice(-steps)
}

/** Gas of registerSite for site number `n` (a fresh market holding n - 1 sites). */
async function measureRegister(rpcUrl: string, chainId: number, n: number): Promise<bigint> {
  const m = await createLocalMarket({ rpcUrl, chainId, sites: n - 1, depositEach: 0n, config: marketConfig })
  const hash = await m.wallet.writeContract({
    address: m.market,
    abi: energyMarketAbi,
    functionName: 'registerSite',
    args: [m.operator.address, m.operator.address, 20_000, 20_000],
  })
  return gasOf(m, hash, 'registerSite')
}

async function measureTransfer(lm: LocalMarket): Promise<{ existing: bigint; fresh: bigint }> {
  const [a, b] = lm.sites
  const transfer = async (to: `0x${string}`) => {
    const hash = await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'transfer', args: [to, 1_000n] })
    return (await lm.client.waitForTransactionReceipt({ hash })).gasUsed
  }
  await lm.client.waitForTransactionReceipt({
    hash: await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, 10n ** 12n] }),
  })
  const fresh = await transfer(a!.owner.address) // recipient balance 0 -> non-zero
  const existing = await transfer(a!.owner.address) // non-zero -> non-zero, the common case
  await transfer(b!.owner.address)
  return { existing, fresh }
}

const mean = (xs: bigint[]) => Number(xs.reduce((a, b) => a + b, 0n)) / xs.length
const round = (x: number) => Math.round(x)

const anvil = await startAnvil({ args: ['--hardfork', hardfork] })
try {
  const lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 64, config: marketConfig })
  const maxSites = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'MAX_SITES' })
  const transfer = await measureTransfer(lm)
  const erc20 = Number(transfer.existing)
  const results: Record<string, number | string> = {
    hardfork,
    erc20TransferGas: erc20,
    erc20TransferToNewHolderGas: Number(transfer.fresh),
    maxSitesPerMarket: Number(maxSites),
    ringSize: Number(lm.config.ringSize),
  }
  const ratios: Record<string, number> = {}
  const layouts = {
    // neighbouring ids: six share one balance slot
    typical: (n: number) => Array.from({ length: n + 1 }, (_, i) => i),
    // ids 6 apart: every site in its own balance slot (n + 1 <= 11 slots exist; beyond
    // that ids wrap into shared slots, so batches 20 and 50 use 11 slots at most)
    separateSlots: (n: number) => Array.from({ length: n + 1 }, (_, i) => (i * 6) % 66 + Math.floor((i * 6) / 66)),
  }
  for (const [layout, ids] of Object.entries(layouts)) {
    for (const n of batches) {
      const siteIds = ids(n)
      const seed = await findSeed(lm, siteIds, n)
      const runs: Measured[] = []
      for (let r = 0; r < repeats; r++) runs.push(await measureInterval(lm, siteIds, seed))
      const settle = mean(runs.map((m) => m.settleGas)) / n
      const finalize = mean(runs.map((m) => m.finalizeGas)) / n
      const key = `${layout}_batch${n}`
      results[`settleGasPerTrade_${key}`] = round(settle)
      results[`finalizeGasPerTrade_${key}`] = round(finalize)
      results[`settlePlusFinalizeGasPerTrade_${key}`] = round(settle + finalize)
      results[`commitGasPerTrade_${key}`] = round(mean(runs.map((m) => m.commitGas)) / n)
      // the figure issue 14 asks for: everything the chain does for one trade
      results[`allInGasPerTrade_${key}`] = round(mean(runs.map((m) => m.commitGas + m.settleGas + m.finalizeGas)) / n)
      ratios[`settlePerTradeVsErc20Transfer_${key}`] = +(settle / erc20).toFixed(3)
      ratios[`settlePlusFinalizePerTradeVsErc20Transfer_${key}`] = +((settle + finalize) / erc20).toFixed(3)
      process.stderr.write(`gas: ${key}: settle ${round(settle)} + finalize ${round(finalize)} gas/trade, all-in ${results[`allInGasPerTrade_${key}`]}\n`)
    }
  }

  // one 5-site interval, standalone transactions
  const fiveIds = [30, 31, 32, 33, 34]
  const fiveSeed = await findSeed(lm, fiveIds, 4)
  const five: Measured[] = []
  for (let r = 0; r < repeats; r++) five.push(await measureInterval(lm, fiveIds, fiveSeed))
  results.interval5SitesCommitGas = round(mean(five.map((m) => m.commitGas)))
  results.interval5SitesSettleGas = round(mean(five.map((m) => m.settleGas)))
  results.interval5SitesFinalizeGas = round(mean(five.map((m) => m.finalizeGas)))
  results.interval5SitesSeparateTxsTotalGas = round(mean(five.map((m) => m.commitGas + m.settleGas + m.finalizeGas)))

  // the same 5 sites in a live market: one step (marketStep()) per interval
  const steady = await measureSteadyState(lm, fiveIds, fiveSeed, 4)
  results.interval5SitesStepGas = round(mean(steady))
  results.interval5SitesStepGasMax = Number(steady.reduce((a, b) => (b > a ? b : a), 0n))
  const spreadIds = [0, 6, 12, 18, 24]
  const steadySpread = await measureSteadyState(lm, spreadIds, await findSeed(lm, spreadIds, 4), 4)
  results.interval5SitesStepGas_separateSlots = round(mean(steadySpread))
  // all-in through steps: a step per interval is finalize + settle + commit of one interval's
  // worth, so its gas over the interval's trades is the all-in per trade of a live market
  for (const n of [5, 20]) {
    const siteIds = layouts.typical(n)
    const calldata: bigint[] = []
    const steps = await measureSteadyState(lm, siteIds, await findSeed(lm, siteIds, n), 3, calldata)
    results[`stepGas_typical_batch${n}`] = round(mean(steps))
    results[`stepCalldataGas_typical_batch${n}`] = round(mean(calldata.slice(-3)))
    results[`allInGasPerTrade_step_typical_batch${n}`] = round(mean(steps) / n)
    process.stderr.write(`gas: step, batch ${n}: ${round(mean(steps))} gas, all-in ${round(mean(steps) / n)} per trade\n`)
  }
  ratios.interval5SitesStepVsErc20Transfer = +(mean(steady) / erc20).toFixed(3)
  results.registerSiteGas_5thSite = Number(await measureRegister(anvil.rpcUrl, anvil.chainId, 5))
  results.registerSiteGas_64thSite = Number(await measureRegister(anvil.rpcUrl, anvil.chainId, 64))

  // The issue's 15 000 per trade: settle alone meets it (it writes no balance), settle plus
  // a standalone finalize does not at batch 5; both are reported as targets.
  const perTrade = (what: string, layout: string, n: number) => results[`${what}GasPerTrade_${layout}_batch${n}`] as number
  const targets = Object.fromEntries([
    ...(['settle', 'settlePlusFinalize'] as const).flatMap((what) =>
      (['typical', 'separateSlots'] as const).flatMap((layout) =>
        [5, 20, 50].map((n) => [`${what}GasPerTrade_${layout}_batch${n}`, { max: 15_000, met: perTrade(what, layout, n) <= 15_000 }]),
      ),
    ),
    // issue 14: all-in (commit + settle + finalize) <= 10 000 per trade at batch 20, as a live
    // market runs (one step per interval, signatures proven only if forged: contracts/README.md)
    ['allInGasPerTrade_step_typical_batch20', { max: 10_000, measured: results.allInGasPerTrade_step_typical_batch20, met: (results.allInGasPerTrade_step_typical_batch20 as number) <= 10_000 }],
    ['allInGasPerTrade_step_typical_batch5', { measured: results.allInGasPerTrade_step_typical_batch5 }],
    // the standalone transactions check every signature and pay three base fees: reported, no target
    ['allInGasPerTrade_typical_batch20', { measured: perTrade('allIn', 'typical', 20) }],
    ['allInGasPerTrade_typical_batch5', { measured: perTrade('allIn', 'typical', 5) }],
    // the issue's 120 000 per 5-site interval (commit with its signed orders + settlement with
    // the 5 signed readings + the finalization a step carries); contracts/README.md says
    // where the gas goes
    ['interval5SitesStepGas', { max: 120_000, measured: round(mean(steady)), met: mean(steady) <= 120_000 }],
    // informational, no target: every site in its own balance slot is the worst layout (5 cold
    // balance slots read and written where the typical layout has one, ~21 000 more), which no
    // change short of fewer balance slots brings under 120 000
    ['interval5SitesStepGas_separateSlots', { measured: round(mean(steadySpread)) }],
  ])
  process.stdout.write(`${JSON.stringify({ bench: 'gas', results, ratios, targets })}\n`)
} finally {
  await anvil.stop()
}
