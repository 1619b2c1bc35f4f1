import type { Account, Address, Chain, Hash, Transport, WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { settleArgs, type SettleParameters } from './settleArgs.ts'

export type SettleIntervalParameters = SettleParameters

/** Sends settle() for a committed interval with the sites' signed meter readings. */
export async function settleInterval(wallet: WalletClient<Transport, Chain, Account>, market: Address, parameters: SettleIntervalParameters): Promise<Hash> {
  return wallet.writeContract({ address: market, abi: energyMarketAbi, functionName: 'settle', args: settleArgs(parameters) })
}
