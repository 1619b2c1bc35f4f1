import type { MeterReading } from './typedData.ts'

/**
 * The site id the community's point-of-coupling (feeder) meter signs its MeterReading with:
 * no site has it (at most 64 sites), so a site's meter signature can never pass for the
 * feeder's and the other way round (the contract's FEEDER_SITE).
 */
export const FEEDER_SITE_ID = 0xffff_ffff

export type ReconcileFeederParameters = {
  /** what the point-of-coupling meter signed for the interval */
  feeder: Pick<MeterReading, 'importWh' | 'exportWh'>
  /** the settled readings of the clearing's sites; a withheld (null) one counts as 0 */
  readings: readonly (Pick<MeterReading, 'importWh' | 'exportWh'> | null)[]
  /** allowed |feeder net - sites' net| as basis points of the sites' gross flow (import + export) */
  toleranceBps: number
}

export type FeederCheck = {
  /** import - export at the point of coupling */
  feederNetWh: number
  /** sum of the sites' import - export */
  sitesNetWh: number
  mismatch: boolean
}

/**
 * The feeder check, exactly as EnergyMarket.postFeederReading does it: the community's
 * import - export at the point of coupling against the sum of the sites' import - export;
 * a mismatch when |difference| * 10 000 > toleranceBps * the sites' gross flow.
 */
export function reconcileFeeder({ feeder, readings, toleranceBps }: ReconcileFeederParameters): FeederCheck {
  let sitesNetWh = 0
  let grossWh = 0
  for (const r of readings) {
    if (r === null) continue
    sitesNetWh += r.importWh - r.exportWh
    grossWh += r.importWh + r.exportWh
  }
  const feederNetWh = feeder.importWh - feeder.exportWh
  const mismatch = BigInt(Math.abs(feederNetWh - sitesNetWh)) * 10_000n > BigInt(toleranceBps) * BigInt(grossWh)
  return { feederNetWh, sitesNetWh, mismatch }
}
