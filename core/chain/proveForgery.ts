import { compactSignatureToSignature, keccak256, recoverTypedDataAddress, type Address, type Hex } from 'viem'
import { packOrder, packSettleReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { SignedMeterReading, SignedOrder } from '../market/signMarketData.ts'
import { marketTypes, type MarketDomain } from '../market/typedData.ts'
import type { Finalization } from './buildFinalization.ts'
import { proveClearingArgs } from './proveClearing.ts'

const TAG_MASK = (1n << 96n) - 1n

/** A key's tag as the market stores it: the low 96 bits of keccak256(address). */
export function keyTag(key: Address): bigint {
  return BigInt(keccak256(key)) & TAG_MASK
}

/** Whether an order is its site owner's signature (what a step no longer checks on chain;
 * the live market's validator checks orders on the broker the same way, recoverLiveSigner). */
export async function orderSignedBy(domain: MarketDomain, order: SignedOrder, owner: Address): Promise<boolean> {
  const { r, vs, ...message } = order
  try {
    const signer = await recoverTypedDataAddress({ domain, types: marketTypes, primaryType: 'Order', message, signature: compactSignatureToSignature({ r, yParityAndS: vs }) })
    return signer.toLowerCase() === owner.toLowerCase()
  } catch {
    return false
  }
}

export type OrderForgeryParameters = {
  /** the clearing a step committed, its orders as the step sent them */
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches' | 'orders'>
  /** the refs the step snapshotted (committedSiteRefs) */
  siteRefs: readonly bigint[]
  /** each order's site owner key at the commit, in order */
  owners: readonly Address[]
  /** once the interval is settled: its settlement's hashes (buildFinalization) */
  settlement?: Pick<Finalization, 'metasHash' | 'releasesHash'>
}

/** The arguments of AuctionVerifier.proveOrderForgery(): the step's orders as four words each
 * (meta, r, vs, the owner's key tag), bound by EnergyMarket's _orderSigs. */
export function orderForgeryArgs({ clearing, siteRefs, owners, settlement }: OrderForgeryParameters) {
  const words = clearing.orders.flatMap((o, k) => {
    const { meta, r, vs } = packOrder(o)
    return [meta, BigInt(r), BigInt(vs), keyTag(owners[k]!)]
  })
  return [...proveClearingArgs({ clearing, siteRefs, settlement }), words] as const
}

const readingWords = (readings: readonly (SignedMeterReading | null)[]) =>
  readings.flatMap((rd) => {
    const { meta, r, vs } = packSettleReading(rd)
    return [meta, BigInt(r), BigInt(vs)]
  })

export type ReadingForgeryParameters = {
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  siteRefs: readonly bigint[]
  /** the readings the step settled with, as it sent them (null: absent) */
  stepped: readonly (SignedMeterReading | null)[]
  /** the settlement's releases hash (buildFinalization of the stepped readings) */
  releasesHash: Hex
  /** the same readings with every forged one replaced by its meter's signed reading */
  fixed: readonly (SignedMeterReading | null)[]
}

/** The arguments of AuctionVerifier.proveReadingForgery(). */
export function readingForgeryArgs({ clearing, siteRefs, stepped, releasesHash, fixed }: ReadingForgeryParameters) {
  return [clearing.interval, clearing.price, [...siteRefs], [...clearing.matches], readingWords(stepped), releasesHash, readingWords(fixed)] as const
}

/** Whether a reading is the signature of the meter whose key tag a site ref carries (its low
 * 96 bits), as AuctionVerifier._readingSigned checks it. */
export async function readingSignedBy(domain: MarketDomain, reading: SignedMeterReading, meterTag: bigint): Promise<boolean> {
  const { r, vs, ...message } = reading
  try {
    const signer = await recoverTypedDataAddress({ domain, types: marketTypes, primaryType: 'MeterReading', message, signature: compactSignatureToSignature({ r, yParityAndS: vs }) })
    return keyTag(signer) === (meterTag & TAG_MASK)
  } catch {
    return false
  }
}

export type SettlementProofParameters = {
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  siteRefs: readonly bigint[]
  /** the readings as the market binds them now (the step's, or the last reading proof's fixed ones) */
  stepped: readonly (SignedMeterReading | null)[]
  /** the releases the step bound (site id << 64 | amount), as it sent them */
  releases: readonly bigint[]
}

/** The arguments of AuctionVerifier.proveSettlement(): a step's releases that are not the settlement of its readings. */
export function settlementProofArgs({ clearing, siteRefs, stepped, releases }: SettlementProofParameters) {
  return [clearing.interval, clearing.price, [...siteRefs], [...clearing.matches], readingWords(stepped), [...releases]] as const
}
