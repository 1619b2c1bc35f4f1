import { describe, expect, it } from 'vitest'
import { defaultTariff } from '../timeOfUseTariff.ts'
import { replacementPrice } from './replacementPrice.ts'

describe('replacementPrice', () => {
  it('is the cheapest import price of the day after the end, wherever in the day it falls', () => {
    // Midnight in Melbourne, and 15:00 there (the peak): the next night's 0.15 either way.
    expect(replacementPrice(defaultTariff('Australia/Melbourne'), Date.parse('2014-11-26T13:00:00Z'), 900_000)).toBe(0.15)
    expect(replacementPrice(defaultTariff('Australia/Melbourne'), Date.parse('2014-11-26T04:00:00Z'), 900_000)).toBe(0.15)
    // A tariff whose cheap hours are at midday (solar soak), the mean of the day far above them.
    const soak = { timezone: 'UTC', importBands: [{ fromHour: 11, toHour: 13, priceEurPerKWh: 0.08 }], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0.05 }
    expect(replacementPrice(soak, Date.parse('2014-06-01T00:00:00Z'), 900_000)).toBe(0.08)
    expect(replacementPrice(soak, Date.parse('2014-06-01T13:00:00Z'), 900_000)).toBe(0.08)
    // A flat tariff: its one price.
    expect(replacementPrice({ ...soak, importBands: [] }, Date.parse('2014-06-01T13:00:00Z'), 900_000)).toBe(0.3)
  })
})
