import { packSettleReading, type EncodedClearing } from '../market/encodeClearing.ts'
import type { SignedMeterReading } from '../market/signMarketData.ts'

export type SettleParameters = {
  clearing: Pick<EncodedClearing, 'interval' | 'price' | 'matches'>
  /** siteId << 160 | meter key tag (low 96 bits of keccak256(meterKey)) per matched site, see committedSiteRefs */
  siteRefs: readonly bigint[]
  /** one per entry of siteRefs, same order; null for a reading the site withheld (settled
   * at its worst case, allowed only after the reading grace: EnergyMarket.absentAllowedAt) */
  readings: readonly (SignedMeterReading | null)[]
}

/** The arguments of EnergyMarket.settle(): the one encoding of a settlement, for a sent transaction or an outbox's call data. */
export function settleArgs({ clearing, siteRefs, readings }: SettleParameters) {
  return [clearing.interval, clearing.price, [...siteRefs], [...clearing.matches], readings.map(packSettleReading)] as const
}
