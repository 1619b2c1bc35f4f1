import { describe, expect, it } from 'vitest'
import { defaultTariff } from '../control/timeOfUseTariff.ts'
import { expectedMarketPriceEurPerKWh } from './expectedMarketPriceEurPerKWh.ts'

describe('expectedMarketPriceEurPerKWh', () => {
  it('expects the market to clear halfway between the import and the export tariff', () => {
    // 11:00 in Melbourne (AEDT): the shoulder band, 0.25 EUR/kWh import, 0.05 export
    expect(expectedMarketPriceEurPerKWh(defaultTariff('Australia/Melbourne'), Date.parse('2026-11-27T00:00:00Z'))).toBeCloseTo(0.15, 9)
  })
})
