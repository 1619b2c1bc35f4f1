import { describe, expect, it } from 'vitest'
import { buildOrder, type BuildOrderParameters } from './buildOrder.ts'
import { SIDE_ASK, SIDE_BID } from './typedData.ts'

const base: BuildOrderParameters = {
  siteId: 3,
  interval: 10n,
  netImportWh: 0,
  limits: { minSellPrice: 80_000n, maxBuyPrice: 200_000n, minOrderWh: 50 },
  importCapWh: 5_000,
  exportCapWh: 4_000,
  deadline: 1_000n,
}

describe('buildOrder', () => {
  it('sells a surplus at the minimum sell price and buys a deficit at the maximum buy price', () => {
    expect(buildOrder({ ...base, netImportWh: -1234.7 })).toMatchObject({ side: SIDE_ASK, energyWh: 1234, limitPrice: 80_000n })
    expect(buildOrder({ ...base, netImportWh: 900 })).toMatchObject({ side: SIDE_BID, energyWh: 900, limitPrice: 200_000n })
  })

  it('clamps to the nameplate cap of the side it trades', () => {
    expect(buildOrder({ ...base, netImportWh: -9_000 })?.energyWh).toBe(base.exportCapWh)
    expect(buildOrder({ ...base, netImportWh: 9_000 })?.energyWh).toBe(base.importCapWh)
  })

  it('places no order for a balanced interval or one below the minimum size', () => {
    expect(buildOrder({ ...base, netImportWh: 0 })).toBeNull()
    expect(buildOrder({ ...base, netImportWh: -49 })).toBeNull()
  })

  it('rejects bad limits and quantities with where and what was expected', () => {
    expect(() => buildOrder({ ...base, netImportWh: 10, limits: { minSellPrice: -1n, maxBuyPrice: 1n } })).toThrow(/site 3 price limits\.minSellPrice/)
    expect(() => buildOrder({ ...base, netImportWh: Number.NaN })).toThrow(/site 3 interval 10 netImportWh: expected a finite number of Wh, got NaN/)
  })
})
