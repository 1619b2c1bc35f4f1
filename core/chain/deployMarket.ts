import type { Account, Address, Chain, Hash, PublicClient, Transport, WalletClient } from 'viem'
import { auctionVerifierAbi, energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
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
  /** units the operator keeps posted in the market's AuctionVerifier to commit (slashed by a
   * proven clearing that is not the auction's); default OPERATOR_BOND_PER_SITE_BOND * bond */
  operatorBond?: bigint
}

/** The operator's bond by default: this many site bonds. */
export const OPERATOR_BOND_PER_SITE_BOND = 10n

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

export type DeployedMarket = {
  market: Address
  token: Address
  /** the market's AuctionVerifier: holds the operator's bond, takes clearing proofs */
  verifier: Address
  deployBlock: bigint
}

/** A deployment transaction did not produce a contract. */
export class DeployError extends BaseError {
  override name = 'DeployError' as const
  constructor(contract: string, hash: string, status: string) {
    super(`deploy ${contract}: transaction ${hash} ended with status '${status}'; expected a created contract`)
  }
}

/** The operator's wallet cannot post the operator's bond in the given settlement token. */
export class OperatorBondError extends BaseError {
  override name = 'OperatorBondError' as const
}

async function succeeded(client: PublicClient, what: string, hash: Hash): Promise<void> {
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success') throw new DeployError(what, hash, receipt.status)
}

/** Deploys the settlement token (unless given) and the market (which creates its
 * AuctionVerifier), then posts the operator's bond from the wallet: minted when the test
 * token was deployed here, else from the wallet's balance of the given token. */
export async function deployMarket({ wallet, client, config, token }: DeployMarketParameters): Promise<DeployedMarket> {
  const { artifacts } = compileContracts()
  const operatorBond = config.operatorBond ?? OPERATOR_BOND_PER_SITE_BOND * config.bond
  if (token && operatorBond > 0n) {
    // checked before anything is deployed: a market without the bond takes no commits
    const held = await client.readContract({ address: token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [wallet.account.address] })
    if (held < operatorBond * config.unit)
      throw new OperatorBondError(
        `operator ${wallet.account.address} holds ${held} of settlement token ${token}; expected at least ${operatorBond * config.unit} (operatorBond ${operatorBond} units x unit ${config.unit}) to post the operator's bond; nothing was deployed`,
      )
  }
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
    args: [{ token: tokenAddress, ...config, operatorBond }],
  })
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (!receipt.contractAddress) throw new DeployError('EnergyMarket', hash, receipt.status)
  const market = receipt.contractAddress
  const verifier = await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'verifier' })
  if (operatorBond > 0n) {
    const amount = operatorBond * config.unit
    if (!token) await succeeded(client, 'operator bond: mint', await wallet.writeContract({ address: tokenAddress, abi: settlementTokenAbi, functionName: 'mint', args: [wallet.account.address, amount] }))
    await succeeded(client, 'operator bond: approve', await wallet.writeContract({ address: tokenAddress, abi: settlementTokenAbi, functionName: 'approve', args: [verifier, amount] }))
    await succeeded(client, 'operator bond: depositBond', await wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'depositBond', args: [operatorBond] }))
  }
  return { market, token: tokenAddress, verifier, deployBlock: receipt.blockNumber }
}
