import type { SiteMarketPort } from '../control/createSiteRuntime.ts'
import type { Tariff } from '../control/timeOfUseTariff.ts'
import { expectedMarketPriceEurPerKWh } from './expectedMarketPriceEurPerKWh.ts'

export type CreateSiteMarketPortParameters = {
  /** the start of any market interval (ms); intervals follow every `intervalMs` from it */
  anchorMs: number
  intervalMs: number
  /** the most the site offers to buy / sell per interval, as power */
  maxBuyPowerW: number
  maxSellPowerW: number
  tariff: Tariff | (() => Tariff)
}

/**
 * A site's market as its control loop sees it (SiteMarketPort), for the demo sites and a
 * trading serve alike: the plan may trade from the first interval still open to orders
 * (`openFrom`), and the loop delivers what a cleared interval committed it to (`commit`)
 * beyond what the plan in force carries.
 */
export function createSiteMarketPort(p: CreateSiteMarketPortParameters) {
  /** Net energy sold (> 0) or bought (< 0) per cleared interval start, Wh: what the loop must deliver. */
  const commitments = new Map<number, number>()
  let openFromMs = Number.POSITIVE_INFINITY
  const intervalHours = p.intervalMs / 3_600_000
  const tariff = () => (typeof p.tariff === 'function' ? p.tariff() : p.tariff)
  const intervalStartOf = (t: number) => p.anchorMs + Math.floor((t - p.anchorMs) / p.intervalMs) * p.intervalMs
  const port: SiteMarketPort = {
    planMarket: () => ({ fromMs: openFromMs, maxBuyPowerW: p.maxBuyPowerW, maxSellPowerW: p.maxSellPowerW, priceAt: (t) => expectedMarketPriceEurPerKWh(tariff(), t) }),
    // A trade the plan in force does not carry (cleared after it was made, or cleared
    // below what it asked): the battery makes up the difference.
    commitment: (now, plan) => {
      const committedWh = commitments.get(intervalStartOf(now))
      if (committedWh === undefined) return null
      const slot = plan?.slots.find((s) => s.startMs <= now && now < s.startMs + plan.slotDurationMs)
      const plannedSellW = slot ? slot.marketSellW - slot.marketBuyW : 0
      return { extraExportW: committedWh / intervalHours - plannedSellW, committedW: committedWh / intervalHours }
    },
  }
  return {
    port,
    /** The next plans may trade from the interval starting at `fromMs` on; earlier ones are cleared or closed. */
    openFrom(fromMs: number) {
      openFromMs = fromMs
    },
    /** Records this site's trades in the interval starting at `intervalStartMs` (net sold, Wh) for the loop to deliver; forgets intervals long past. */
    commit(intervalStartMs: number, netSellWh: number) {
      commitments.set(intervalStartMs, netSellWh)
      for (const start of commitments.keys()) if (start < intervalStartMs - 96 * p.intervalMs) commitments.delete(start)
    },
    intervalStartOf,
  }
}

export type SiteMarketPortHandle = ReturnType<typeof createSiteMarketPort>
