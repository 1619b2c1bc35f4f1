import { importPriceAt, type Tariff } from '../timeOfUseTariff.ts'

const dayMs = 86_400_000

/**
 * What a kWh left in the battery at `endMs` is worth: the cheapest import price of the day
 * after (checked every `slotMs`), the price at which the grid could put it there next. A
 * backtest values the energy a run ends with beyond its start at this, over the charge
 * efficiency, so that ending fuller earns a run nothing it did not pay for.
 */
export function replacementPrice(tariff: Tariff, endMs: number, slotMs: number): number {
  let cheapest = Number.POSITIVE_INFINITY
  for (let t = endMs; t < endMs + dayMs; t += slotMs) cheapest = Math.min(cheapest, importPriceAt(tariff, t))
  return cheapest
}
