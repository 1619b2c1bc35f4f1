import type { Account, Address, Chain, Hash, Transport, WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { packReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { Finalization } from './buildFinalization.ts'
import { orderArgs } from './commitClearing.ts'
import type { SettleIntervalParameters } from './settleInterval.ts'

export type StepMarketParameters = {
  /** settled intervals past their dispute window, credited first (frees their ring slots) */
  finals: readonly Pick<Finalization, 'interval' | 'clearingHash' | 'metasHash' | 'releases'>[]
  /** the interval that just ended */
  settle: SettleIntervalParameters
  /** the interval after the running one */
  commit: EncodedClearing
}

/** Sends step(): finalize, settle and commit of a live market in one transaction (operator). */
export async function stepMarket(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Address,
  { finals, settle, commit }: StepMarketParameters,
): Promise<Hash> {
  return wallet.writeContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'step',
    args: [
      finals.map((f) => ({ interval: f.interval, clearingHash: f.clearingHash, metasHash: f.metasHash, releases: [...f.releases] })),
      {
        interval: settle.clearing.interval,
        price: settle.clearing.price,
        sites: [...settle.siteRefs],
        matches: [...settle.clearing.matches],
        readings: settle.readings.map(packReading),
      },
      { interval: commit.interval, price: commit.price, orders: orderArgs(commit), matches: commit.matches },
    ],
  })
}
