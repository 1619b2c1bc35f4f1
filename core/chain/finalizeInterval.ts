import type { Account, Address, Chain, Hash, Transport, WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import type { Finalization } from './buildFinalization.ts'
import { finalizeArgs } from './finalizeArgs.ts'

/** Sends finalize() for a settled interval whose dispute window has passed. */
export async function finalizeInterval(wallet: WalletClient<Transport, Chain, Account>, market: Address, f: Pick<Finalization, 'interval' | 'inputsHash' | 'releases'>): Promise<Hash> {
  return wallet.writeContract({ address: market, abi: energyMarketAbi, functionName: 'finalize', args: finalizeArgs(f) })
}
