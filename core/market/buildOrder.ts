import { z } from 'zod'
import { MarketInputError } from './MarketInputError.ts'
import { SIDE_ASK, SIDE_BID, type Order } from './typedData.ts'

/** The operator's price limits, in settlement-token units per kWh. */
export const priceLimitsSchema = z
  .object({
    /** the least a surplus kWh is sold for */
    minSellPrice: z.bigint().nonnegative(),
    /** the most a missing kWh is bought for */
    maxBuyPrice: z.bigint().nonnegative(),
    /** orders below this are not worth the signature */
    minOrderWh: z.number().int().nonnegative().default(1),
  })
  .refine((l) => l.minSellPrice <= 0xffffffffffffffffn && l.maxBuyPrice <= 0xffffffffffffffffn, {
    message: 'prices must fit in uint64',
  })
export type PriceLimits = z.input<typeof priceLimitsSchema>

export type BuildOrderParameters = {
  siteId: number
  interval: bigint
  /** the plan's grid energy for the interval: > 0 imports (deficit), < 0 exports (surplus) */
  netImportWh: number
  limits: PriceLimits
  /** the site's nameplate caps per interval as registered on-chain */
  importCapWh: number
  exportCapWh: number
  /** unix seconds after which the order may not be committed (normally the interval start) */
  deadline: bigint
}

/** The order a site places for one interval from its planned surplus/deficit, or null. */
export function buildOrder(p: BuildOrderParameters): Order | null {
  const parsed = priceLimitsSchema.safeParse(p.limits)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new MarketInputError(`site ${p.siteId} price limits.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'valid limits', JSON.stringify(p.limits, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)))
  }
  if (!Number.isFinite(p.netImportWh))
    throw new MarketInputError(`site ${p.siteId} interval ${p.interval} netImportWh`, 'a finite number of Wh', String(p.netImportWh))
  const limits = parsed.data
  const deficit = p.netImportWh > 0
  const energyWh = Math.min(Math.floor(Math.abs(p.netImportWh)), deficit ? p.importCapWh : p.exportCapWh)
  if (energyWh === 0 || energyWh < limits.minOrderWh) return null
  return {
    siteId: p.siteId,
    interval: p.interval,
    side: deficit ? SIDE_BID : SIDE_ASK,
    energyWh,
    limitPrice: deficit ? limits.maxBuyPrice : limits.minSellPrice,
    deadline: p.deadline,
  }
}
