import { parseEventLogs, type Address, type PublicClient, type TransactionReceipt } from 'viem'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { BaseError } from '../errors/BaseError.ts'
import { packSiteRef, type EncodedClearing } from '../market/encodeClearing.ts'
import { clearingHashOf } from './buildFinalization.ts'

/** A commit's receipt does not prove the site refs rebuilt for it. */
export class CommittedRefsError extends BaseError {
  override name = 'CommittedRefsError' as const
}

/**
 * The site refs (the order's side, energy and limit, siteId and meter key tag: packSiteRef) a commit snapshotted, which settle(),
 * expire() and dispute() take: the contract logs only the clearing hash (in ClearingCommitted
 * from commitClearing(), in Stepped from marketStep()), so they are rebuilt
 * from each site's meter key at the commit's block and checked against that hash (a key
 * rotated later in the same block would not match and throws).
 */
export async function committedSiteRefs(
  client: PublicClient,
  market: Address,
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'siteIds' | 'orders' | 'matches'>,
  receipt: Pick<TransactionReceipt, 'logs' | 'blockNumber' | 'transactionHash'>,
): Promise<bigint[]> {
  // commitClearing() logs ClearingCommitted; marketStep() logs one Stepped carrying the same hash
  const clearingHash = parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: ['ClearingCommitted', 'Stepped'] })
    .filter((l) => l.address.toLowerCase() === market.toLowerCase())
    .map((l) => (l.eventName === 'Stepped' ? { interval: l.args.committedInterval, hash: l.args.clearingHash } : { interval: l.args.interval, hash: l.args.clearingHash }))
    .find((l) => l.interval === clearing.interval)?.hash
  if (!clearingHash)
    throw new CommittedRefsError(`transaction ${receipt.transactionHash}: no ClearingCommitted or Stepped event for interval ${clearing.interval}; expected the receipt of its commitClearing() or marketStep()`)
  const keys = await Promise.all(
    clearing.siteIds.map((siteId) =>
      client.readContract({ address: market, abi: energyMarketAbi, functionName: 'site', args: [siteId], blockNumber: receipt.blockNumber }),
    ),
  )
  const refs = clearing.siteIds.map((siteId, k) => packSiteRef(siteId, keys[k]![1], clearing.orders[k]!))
  const rebuilt = clearingHashOf(clearing, refs)
  if (rebuilt !== clearingHash)
    throw new CommittedRefsError(`interval ${clearing.interval}: site refs rebuilt at block ${receipt.blockNumber} hash to ${rebuilt}; expected the logged clearing hash ${clearingHash}`)
  return refs
}
