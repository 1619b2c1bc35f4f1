// Gas of the peer-to-peer market on a local anvil: settlement per trade in batches of
// 1, 5, 20 and 50 trades (one interval each, n+1 sites), and a 5-site interval including
// its signed meter readings, against a plain ERC-20 transfer measured in the same run.
// Last stdout line: {"bench":"gas","results":{...},"ratios":{...},"targets":{...}}
import { energyMarketAbi, settlementTokenAbi } from '../contracts/abi.ts'
import { createLocalMarket, type LocalMarket } from '../core/chain/createLocalMarket.ts'
import { settleInterval } from '../core/chain/settleInterval.ts'
import { startAnvil } from '../core/chain/startAnvil.ts'
import { SIDE_ASK, SIDE_BID } from '../core/market/typedData.ts'
import { clear, commit, exactDelivery, signOrders, signReadings, type OrderSpec } from '../test/fixtures/market/marketFlow.ts'

const batches = [1, 5, 20, 50] as const
const repeats = 3
const hardfork = 'prague'

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

type Measured = { trades: number; sites: number; commitGas: bigint; settleGas: bigint }

/** Commits and settles one interval among `siteIds` with `trades` matches; returns gas used. */
async function measureInterval(lm: LocalMarket, siteIds: readonly number[], trades: number): Promise<Measured> {
  for (let seed = 1; seed < 500; seed++) {
    const interval = await nextFreeInterval(lm)
    const specs = orderBook(siteIds, seed)
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    if (clearing.matches.length !== trades || clearing.siteIds.length !== siteIds.length) continue
    const committed = await commit(lm, clearing)
    await lm.warpTo(lm.intervalStart(interval + 1n))
    const readings = await signReadings(lm, clearing, exactDelivery(clearing))
    const hash = await settleInterval(lm.wallet, lm.market, { clearing, siteRefs: committed.siteRefs, readings })
    const receipt = await lm.client.waitForTransactionReceipt({ hash })
    if (receipt.status !== 'success') throw new Error(`settle ${hash} reverted`)
    return { trades, sites: siteIds.length, commitGas: committed.gasUsed, settleGas: receipt.gasUsed }
  }
  throw new Error(`no order book on ${siteIds.length} sites clears into ${trades} trades`)
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
  const lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 64 })
  const maxSites = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'MAX_SITES' })
  const transfer = await measureTransfer(lm)
  const results: Record<string, number | string> = {
    hardfork,
    erc20TransferGas: Number(transfer.existing),
    erc20TransferToNewHolderGas: Number(transfer.fresh),
    maxSitesPerMarket: Number(maxSites),
  }
  const ratios: Record<string, number> = {}
  for (const n of batches) {
    const runs: Measured[] = []
    for (let r = 0; r < repeats; r++) runs.push(await measureInterval(lm, Array.from({ length: n + 1 }, (_, i) => i), n))
    const settlePerTrade = mean(runs.map((m) => m.settleGas)) / n
    results[`settleGasPerTrade_batch${n}`] = round(settlePerTrade)
    results[`commitGasPerTrade_batch${n}`] = round(mean(runs.map((m) => m.commitGas)) / n)
    ratios[`settlePerTradeVsErc20Transfer_batch${n}`] = +(settlePerTrade / Number(transfer.existing)).toFixed(3)
    process.stderr.write(`gas: batch ${n}: settle ${round(settlePerTrade)} gas/trade\n`)
  }
  // worst case for the packed balances: 6 sites that share no balance slot
  const spread = await measureInterval(lm, [0, 4, 8, 12, 16, 20], 5)
  results.settleGasPerTrade_batch5_sitesInSeparateSlots = round(Number(spread.settleGas) / 5)

  const five: Measured[] = []
  for (let r = 0; r < repeats; r++) five.push(await measureInterval(lm, [30, 31, 32, 33, 34], 4))
  const fiveSettle = mean(five.map((m) => m.settleGas))
  const fiveCommit = mean(five.map((m) => m.commitGas))
  results.interval5SitesSettleGas = round(fiveSettle)
  results.interval5SitesCommitGas = round(fiveCommit)
  results.interval5SitesCommitPlusSettleGas = round(fiveSettle + fiveCommit)
  ratios.interval5SitesSettleVsErc20Transfer = +(fiveSettle / Number(transfer.existing)).toFixed(3)

  const targets = {
    settleGasPerTrade_batch5: { max: 15_000, met: (results.settleGasPerTrade_batch5 as number) <= 15_000 },
    settleGasPerTrade_batch20: { max: 15_000, met: (results.settleGasPerTrade_batch20 as number) <= 15_000 },
    settleGasPerTrade_batch50: { max: 15_000, met: (results.settleGasPerTrade_batch50 as number) <= 15_000 },
    interval5SitesSettleGas: { max: 120_000, met: fiveSettle <= 120_000 },
  }
  process.stdout.write(`${JSON.stringify({ bench: 'gas', results, ratios, targets })}\n`)
} finally {
  await anvil.stop()
}
