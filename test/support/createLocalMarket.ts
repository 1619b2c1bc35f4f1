import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  publicActions,
  type Address,
  type LocalAccount,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { createMarketDomain, type MarketDomain } from '../../core/market/typedData.ts'
import { BaseError } from '../../core/errors/BaseError.ts'
import { deployMarket, minRingSize, type MarketConfig } from '../../core/chain/deployMarket.ts'

/** Setting up a development market failed; names the RPC URL and the step. */
export class LocalMarketError extends BaseError {
  override name = 'LocalMarketError' as const
}

export type LocalSite = { siteId: number; owner: LocalAccount; meter: LocalAccount }

export type CreateLocalMarketParameters = {
  rpcUrl: string
  chainId: number
  sites: number
  importCapWh?: number
  exportCapWh?: number
  /** token base units deposited per site */
  depositEach?: bigint
  /** ringSize defaults to the smallest the windows allow */
  config?: Partial<Omit<MarketConfig, 'operator' | 'genesis' | 'unit'>>
}

const ether = 10n ** 18n

/**
 * A market on a development chain (anvil): fresh operator and site keys funded with the
 * chain's test methods, token and market deployed, sites registered and funded in escrow.
 */
export async function createLocalMarket({
  rpcUrl,
  chainId,
  sites,
  importCapWh = 20_000,
  exportCapWh = 20_000,
  depositEach = 1_000_000_000n,
  config = {},
}: CreateLocalMarketParameters) {
  const chain = defineChain({
    id: chainId,
    name: 'local',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  })
  const transport = http(rpcUrl)
  const client = createPublicClient({ chain, transport, pollingInterval: 50 })
  const test = createTestClient({ chain, transport, mode: 'anvil' })
  const operator = privateKeyToAccount(generatePrivateKey())
  await test.setBalance({ address: operator.address, value: 1000n * ether })
  const wallet = createWalletClient({ chain, transport, account: operator, pollingInterval: 50 }).extend(publicActions)
  const latest = await client.getBlock()
  const windows = { intervalSec: 900n, settleWindowSec: 86_400n, disputeWindowSec: 3_600n, ...config }
  const fullConfig: MarketConfig = {
    unit: 1n,
    operator: operator.address,
    genesis: latest.timestamp,
    intervalSec: 900n,
    settleWindowSec: 86_400n,
    disputeWindowSec: 3_600n,
    penaltyBps: 2_000n,
    bond: 1_000_000n,
    ringSize: minRingSize(windows),
    ...config,
  }
  const { market, token } = await deployMarket({ wallet, client, config: fullConfig })
  const domain: MarketDomain = createMarketDomain(chainId, market)

  const localSites: LocalSite[] = []
  for (let i = 0; i < sites; i++) {
    const owner = privateKeyToAccount(generatePrivateKey())
    const meter = privateKeyToAccount(generatePrivateKey())
    await test.setBalance({ address: owner.address, value: 10n * ether })
    localSites.push({ siteId: i, owner, meter })
  }
  // operator registers, mints and deposits for every site; sends without waiting, then
  // waits for the last receipt (anvil mines in order)
  let last: `0x${string}` | undefined
  for (const s of localSites) {
    last = await wallet.writeContract({
      address: market,
      abi: energyMarketAbi,
      functionName: 'registerSite',
      args: [s.owner.address, s.meter.address, importCapWh, exportCapWh],
    })
  }
  const total = depositEach * BigInt(sites)
  if (total > 0n) {
    await wallet.writeContract({ address: token, abi: settlementTokenAbi, functionName: 'mint', args: [operator.address, total] })
    last = await wallet.writeContract({ address: token, abi: settlementTokenAbi, functionName: 'approve', args: [market, total] })
    for (const s of localSites) {
      last = await wallet.writeContract({
        address: market,
        abi: energyMarketAbi,
        functionName: 'deposit',
        args: [s.siteId, depositEach],
      })
    }
  }
  if (last) {
    const receipt = await client.waitForTransactionReceipt({ hash: last })
    if (receipt.status !== 'success') throw new LocalMarketError(`market setup on ${rpcUrl}: transaction ${last} reverted; expected every setup transaction to succeed`)
  }
  const siteCount = await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'siteCount' })
  if (siteCount !== sites) throw new LocalMarketError(`market setup on ${rpcUrl}: ${siteCount} sites registered; expected ${sites}`)

  /** Start of `interval` in chain seconds. */
  const intervalStart = (interval: bigint) => fullConfig.genesis + interval * fullConfig.intervalSec
  /** The next interval that can still be committed at the chain's current time. */
  const nextInterval = async () => {
    const { timestamp } = await client.getBlock()
    return (timestamp - fullConfig.genesis) / fullConfig.intervalSec + 1n
  }
  /** Moves chain time so the next block is at `timestamp`. */
  const warpTo = async (timestamp: bigint) => {
    await test.setNextBlockTimestamp({ timestamp })
    await test.mine({ blocks: 1 })
  }
  const walletFor = (account: LocalAccount) => createWalletClient({ chain, transport, account, pollingInterval: 50 }).extend(publicActions)
  return {
    chain,
    client,
    test,
    wallet,
    walletFor,
    operator: operator as LocalAccount,
    market: market as Address,
    token: token as Address,
    domain,
    config: fullConfig,
    sites: localSites,
    intervalStart,
    nextInterval,
    warpTo,
  }
}

export type LocalMarket = Awaited<ReturnType<typeof createLocalMarket>>
