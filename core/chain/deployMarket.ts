import type { Account, Address, Chain, PublicClient, Transport, WalletClient } from 'viem'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { compileContracts } from '../../contracts/compile.ts'
import { BaseError } from '../errors/BaseError.ts'

export type MarketConfig = {
  /** token base units per contract amount unit (1 for a 6-decimal stable token) */
  unit: bigint
  operator: Address
  /** unix seconds when interval 0 starts */
  genesis: bigint
  intervalSec: bigint
  settleWindowSec: bigint
  disputeWindowSec: bigint
  penaltyBps: bigint
  /** units an active site keeps in escrow */
  bond: bigint
  /** interval records kept on chain; at least minRingSize(intervalSec, settleWindowSec, disputeWindowSec) */
  ringSize: bigint
}

/** The contract's smallest ring: two intervals ahead, the running one, and the settle and dispute windows. */
export function minRingSize({ intervalSec, settleWindowSec, disputeWindowSec }: Pick<MarketConfig, 'intervalSec' | 'settleWindowSec' | 'disputeWindowSec'>): bigint {
  return 3n + (settleWindowSec + disputeWindowSec + intervalSec - 1n) / intervalSec
}

export type DeployMarketParameters = {
  wallet: WalletClient<Transport, Chain, Account>
  client: PublicClient
  config: MarketConfig
  /** an existing settlement token; a test stable token is deployed when omitted */
  token?: Address
}

export type DeployedMarket = { market: Address; token: Address; deployBlock: bigint }

/** A deployment transaction did not produce a contract. */
export class DeployError extends BaseError {
  override name = 'DeployError' as const
  constructor(contract: string, hash: string, status: string) {
    super(`deploy ${contract}: transaction ${hash} ended with status '${status}'; expected a created contract`)
  }
}

/** Deploys the settlement token (unless given) and the market; waits for both receipts. */
export async function deployMarket({ wallet, client, config, token }: DeployMarketParameters): Promise<DeployedMarket> {
  const { artifacts } = compileContracts()
  let tokenAddress = token
  if (!tokenAddress) {
    const hash = await wallet.deployContract({
      abi: settlementTokenAbi,
      bytecode: artifacts.SettlementToken.bytecode,
      args: ['GridMesh Test Euro', 'gEUR'],
    })
    const receipt = await client.waitForTransactionReceipt({ hash })
    if (!receipt.contractAddress) throw new DeployError('SettlementToken', hash, receipt.status)
    tokenAddress = receipt.contractAddress
  }
  const hash = await wallet.deployContract({
    abi: energyMarketAbi,
    bytecode: artifacts.EnergyMarket.bytecode,
    args: [{ token: tokenAddress, ...config }],
  })
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (!receipt.contractAddress) throw new DeployError('EnergyMarket', hash, receipt.status)
  return { market: receipt.contractAddress, token: tokenAddress, deployBlock: receipt.blockNumber }
}
