import { encodeAbiParameters, keccak256, toBytes, type Account, type Address, type Chain, type Hash, type Hex, type PublicClient, type Transport, type WalletClient } from 'viem'
import { auctionVerifierAbi } from '../../contracts/abi.ts'
import { BaseError } from '../errors/BaseError.ts'
import type { EncodedClearing } from '../market/encodeClearing.ts'
import type { Finalization } from './buildFinalization.ts'

/** AuctionVerifier.PROOF_TAG */
export const CLEARING_PROOF_TAG: Hex = keccak256(toBytes('GridMesh clearing proof'))

const ZERO_HASH: Hex = `0x${'0'.repeat(64)}`

/** What commitProof() takes before proveClearing() may reveal: keccak256(abi.encode(sender,
 * interval, PROOF_TAG)). The reward goes to the sender, so a copy of a revealed proof sent
 * without an own commitment from an earlier block is refused. */
export function clearingProofCommitment(sender: Address, interval: bigint): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint64' }, { type: 'bytes32' }], [sender, interval, CLEARING_PROOF_TAG]))
}

export type ProveClearingParameters = {
  /** the market's AuctionVerifier (EnergyMarket.verifier) */
  verifier: Address
  /** the committed clearing as committed (checkClearing found it is not the auction's) */
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  /** the refs the commit snapshotted (committedSiteRefs) */
  siteRefs: readonly bigint[]
  /** once the interval is settled: its settlement's hashes (buildFinalization) */
  settlement?: Pick<Finalization, 'metasHash' | 'releasesHash'>
}

/** The arguments of AuctionVerifier.proveClearing(). */
export function proveClearingArgs({ clearing, siteRefs, settlement }: Omit<ProveClearingParameters, 'verifier'>) {
  return [
    clearing.interval,
    clearing.price,
    [...siteRefs],
    [...clearing.matches],
    settlement?.metasHash ?? ZERO_HASH,
    settlement?.releasesHash ?? ZERO_HASH,
  ] as const
}

/** The proof's commitment transaction did not succeed. */
export class ClearingProofError extends BaseError {
  override name = 'ClearingProofError' as const
}

/**
 * Proves a committed clearing wrong (AuctionVerifier.proveClearing): commits to it
 * (commitProof), waits for that block, then reveals it from a later block. Returns the reveal's
 * transaction hash; its receipt's ClearingProven and SiteCompensated logs say who was paid.
 */
export async function proveClearing(
  wallet: WalletClient<Transport, Chain, Account>,
  client: PublicClient,
  parameters: ProveClearingParameters,
): Promise<Hash> {
  const { verifier, clearing } = parameters
  const commitment = clearingProofCommitment(wallet.account.address, clearing.interval)
  const hash = await wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'commitProof', args: [commitment] })
  const receipt = await client.waitForTransactionReceipt({ hash })
  if (receipt.status !== 'success')
    throw new ClearingProofError(`commitProof for interval ${clearing.interval}: transaction ${hash} ended with status '${receipt.status}'; expected success`)
  return wallet.writeContract({ address: verifier, abi: auctionVerifierAbi, functionName: 'proveClearing', args: proveClearingArgs(parameters) })
}
