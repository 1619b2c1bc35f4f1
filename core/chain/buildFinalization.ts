import { encodeAbiParameters, encodePacked, keccak256, type Hex } from 'viem'
import { computeSettlement } from '../market/computeSettlement.ts'
import { decodeMatches, packSettleReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'

/** What finalize() takes for one settled interval, and what dispute() needs to name it. */
export type Finalization = {
  interval: bigint
  clearingHash: Hex
  metasHash: Hex
  /** keccak256(abi.encode(clearingHash, metasHash)): what finalize() and marketStep() take */
  inputsHash: Hex
  /** siteId << 64 | amount per site, in clearing order */
  releases: bigint[]
  releasesHash: Hex
  /** the packed readings settle() recorded, in clearing order */
  metas: bigint[]
}

export type BuildFinalizationParameters = {
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  /** siteId << 160 | meter key tag (low 96 bits of keccak256(meterKey)) per matched site, see committedSiteRefs */
  siteRefs: readonly bigint[]
  /** null for a reading the site withheld (settled at its worst case) */
  readings: readonly (SignedMeterReading | null)[]
  penaltyBps: bigint
}

/** keccak256(abi.encode(interval, price, siteRefs, matches)): what a commit logged and its record keeps. */
export function clearingHashOf(clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>, siteRefs: readonly bigint[]): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint64' }, { type: 'uint64' }, { type: 'uint256[]' }, { type: 'uint256[]' }],
      [clearing.interval, clearing.price, [...siteRefs], [...clearing.matches]],
    ),
  )
}

/** Recomputes, off-chain, the hashes and releases a settle() of these readings recorded. */
export function buildFinalization({ clearing, siteRefs, readings, penaltyBps }: BuildFinalizationParameters): Finalization {
  const clearingHash = clearingHashOf(clearing, siteRefs)
  const metas = readings.map((r) => packSettleReading(r).meta)
  const metasHash = keccak256(encodePacked(['uint256[]'], [metas]))
  const { releases: amounts } = computeSettlement({ price: clearing.price, penaltyBps, readings, matches: decodeMatches(clearing.matches) })
  const releases = siteRefs.map((ref, k) => (((ref >> 160n) & 0xffffffffn) << 64n) | amounts[k]!)
  const releasesHash = keccak256(encodePacked(['uint256[]'], [releases]))
  const inputsHash = keccak256(encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [clearingHash, metasHash]))
  return { interval: clearing.interval, clearingHash, metasHash, inputsHash, releases, releasesHash, metas }
}
