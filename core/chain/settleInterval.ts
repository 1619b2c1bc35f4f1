import type { Account, Address, Chain, Hash, Transport, WalletClient } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { packReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'

export type SettleIntervalParameters = {
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  /** siteId << 160 | meter key tag (low 96 bits of keccak256(meterKey)) per matched site, see committedSiteRefs */
  siteRefs: readonly bigint[]
  /** one per entry of siteRefs, same order */
  readings: readonly SignedMeterReading[]
}

/** Sends settle() for a committed interval with the sites' signed meter readings. */
export async function settleInterval(
  wallet: WalletClient<Transport, Chain, Account>,
  market: Address,
  { clearing, siteRefs, readings }: SettleIntervalParameters,
): Promise<Hash> {
  return wallet.writeContract({
    address: market,
    abi: energyMarketAbi,
    functionName: 'settle',
    args: [clearing.interval, clearing.price, [...siteRefs], [...clearing.matches], readings.map(packReading)],
  })
}
