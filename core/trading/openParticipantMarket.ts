import { createPublicClient, createWalletClient, defineChain, http, publicActions, type Address, type LocalAccount } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import type { OpenedChain } from '../chain/openChain.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import { createMarketDomain } from '../market/typedData.ts'
import type { SiteMarket } from '../site/siteMarketSchema.ts'
import { TradingError } from './TradingError.ts'

/**
 * The community's market as a participant sees it: the contract at the site file's
 * `market.address` on an opened chain, its clock and windows read from the contract
 * (a participant never deploys, and keeps no record of its own).
 */
export async function openParticipantMarket({ chain, settings }: { chain: OpenedChain; settings: SiteMarket }) {
  const where = `chain ${chain.chainId} at ${redactRpcUrl(chain.rpcUrl)}`
  if (!settings.address)
    throw new TradingError(`site file: market.address: missing; expected the community's market contract (0x and 40 hex digits), which its operator prints when it deploys it (<operator data>/chain/market.json)`)
  const market = settings.address as Address
  const viemChain = defineChain({ id: chain.chainId, name: `chain-${chain.chainId}`, nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [chain.rpcUrl] } } })
  const transport = http(chain.rpcUrl)
  const client = createPublicClient({ chain: viemChain, transport, pollingInterval: 250 })
  const code = await client.getCode({ address: market })
  if (!code || code === '0x') throw new TradingError(`site file: market.address: ${market} has no contract on ${where}; expected the community's deployed market (is market.chain the community's chain?)`)
  const read = <F extends 'genesis' | 'intervalSec' | 'settleWindowSec' | 'disputeWindowSec' | 'penaltyBps' | 'operator' | 'verifier' | 'token'>(functionName: F) =>
    client.readContract({ address: market, abi: energyMarketAbi, functionName }).catch((cause: unknown) => {
      throw new TradingError(`site file: market.address: ${market} on ${where} does not answer ${functionName}(); expected a GridMesh EnergyMarket`, { cause })
    })
  const [genesis, intervalSec, settleWindowSec, disputeWindowSec, penaltyBps, operator, verifier, token] = await Promise.all([
    read('genesis'),
    read('intervalSec'),
    read('settleWindowSec'),
    read('disputeWindowSec'),
    read('penaltyBps'),
    read('operator'),
    read('verifier'),
    read('token'),
  ])
  const config = { genesis: genesis as bigint, intervalSec: intervalSec as bigint, settleWindowSec: settleWindowSec as bigint, disputeWindowSec: disputeWindowSec as bigint, penaltyBps: penaltyBps as bigint }
  return {
    client,
    market,
    operator: operator as Address,
    verifier: verifier as Address,
    token: token as Address,
    config,
    domain: createMarketDomain(chain.chainId, market),
    /** start of `interval` in chain seconds */
    intervalStart: (interval: bigint) => config.genesis + interval * config.intervalSec,
    walletFor: (account: LocalAccount) => createWalletClient({ chain: viemChain, transport, account, pollingInterval: 250 }).extend(publicActions),
  }
}

export type ParticipantMarket = Awaited<ReturnType<typeof openParticipantMarket>>
