import { importPriceAt, type Tariff } from '../control/timeOfUseTariff.ts'

/**
 * The price a site expects the market to clear at in a slot: the auction's uniform price is
 * the midpoint of the last matched bid and ask, and sites bid their import tariff and ask
 * their export tariff, so on one tariff it clears halfway between the two.
 */
export function expectedMarketPriceEurPerKWh(tariff: Tariff, slotStartMs: number): number {
  return (importPriceAt(tariff, slotStartMs) + tariff.exportEurPerKWh) / 2
}
