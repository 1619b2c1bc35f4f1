import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem'

export type DisputeCommitmentParameters = {
  /** the address that will send dispute() */
  sender: Address
  /** the site the reward goes to (the sender must own it) */
  reporterSiteId: number
  interval: bigint
  /** position of the offender in the clearing's sites */
  pos: bigint
  /** the contradicting reading as dispute() takes it (packReading) */
  reading: { meta: bigint; r: Hex; vs: Hex }
}

/**
 * What commitDispute() takes before dispute() may reveal a proof: keccak256 of the sender,
 * the beneficiary and the proof, so the proof stays private until it is revealed and a
 * copy of it sent by anyone else (without a commitment of its own from an earlier block)
 * is refused.
 */
export function disputeCommitment({ sender, reporterSiteId, interval, pos, reading }: DisputeCommitmentParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'address' }, { type: 'uint32' }, { type: 'uint64' }, { type: 'uint256' }, { type: 'uint256' }, { type: 'bytes32' }, { type: 'bytes32' }],
      [sender, reporterSiteId, interval, pos, reading.meta, reading.r, reading.vs],
    ),
  )
}
