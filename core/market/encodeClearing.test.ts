import { describe, expect, it } from 'vitest'
import { packOrder, packReading } from './encodeClearing.ts'
import { MarketInputError } from './MarketInputError.ts'
import type { SignedMeterReading, SignedOrder } from './signMarketData.ts'

// Found by test/fuzz: a field out of range spilled into its neighbour's bits (a reading
// the meter never signed), and a non-integer number threw a RangeError from BigInt().
const sig = { r: `0x${'ab'.repeat(32)}`, vs: `0x${'cd'.repeat(32)}` } as const
const order: SignedOrder = { siteId: 3, interval: 7n, side: 1, energyWh: 500, limitPrice: 90_000n, deadline: 1_800_000_000n, ...sig }
const reading: SignedMeterReading = { siteId: 3, interval: 7n, importWh: 120, exportWh: 40, ...sig }

describe('packOrder and packReading', () => {
  it('pack the fields into their bits', () => {
    expect(packReading(reading).meta).toBe((7n << 64n) | (120n << 32n) | 40n)
    expect(packOrder(order).meta).toBe((3n << 200n) | (7n << 168n) | (1n << 160n) | (500n << 128n) | (90_000n << 64n) | 1_800_000_000n)
  })

  it('refuse a reading whose energy does not fit 32 bits instead of corrupting the interval', () => {
    expect(() => packReading({ ...reading, importWh: 2 ** 32 })).toThrow(MarketInputError)
    expect(() => packReading({ ...reading, exportWh: -1 })).toThrow(/^reading of site 3: expected importWh and exportWh integers below 2\^32/)
    expect(() => packReading({ ...reading, interval: 1n << 64n })).toThrow(MarketInputError)
  })

  it('refuse NaN and fractions by name instead of a RangeError from BigInt()', () => {
    expect(() => packOrder({ ...order, siteId: Number.NaN })).toThrow(MarketInputError)
    expect(() => packOrder({ ...order, energyWh: 1.5 })).toThrow(MarketInputError)
    expect(() => packReading({ ...reading, importWh: 0.5 })).toThrow(MarketInputError)
  })
})
