import type { Account, Address, Chain, Hash, Transport, WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { packOrder, type EncodedClearing } from '../market/encodeClearing.ts'

/** The orders of an encoded clearing as the contract's SignedOrder structs (packed meta, r, vs). */
export function orderArgs(clearing: EncodedClearing) {
  return clearing.orders.map(packOrder)
}

/** Sends the operator's commitClearing transaction for an encoded clearing. */
export async function commitClearing(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Address,
  clearing: EncodedClearing,
): Promise<Hash> {
  return wallet.writeContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'commitClearing',
    args: [clearing.interval, clearing.price, orderArgs(clearing), clearing.matches],
  })
}
