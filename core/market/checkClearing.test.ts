import { describe, expect, it } from 'vitest'
import { checkClearing } from './checkClearing.ts'
import { clearAuction } from './clearAuction.ts'
import { SIDE_ASK, SIDE_BID, type Order } from './typedData.ts'

const order = (siteId: number, side: Order['side'], energyWh: number, limitPrice: bigint): Order => ({ siteId, interval: 5n, side, energyWh, limitPrice, deadline: 0n })
const word = (sp: number, bp: number, e: number) => (BigInt(sp) << 40n) | (BigInt(bp) << 32n) | BigInt(e)

// site 0 asks 100, site 1 bids 300, site 2 asks 300: the auction sells 0 -> 1 at 200
const orders = [order(0, SIDE_ASK, 1000, 100n), order(1, SIDE_BID, 1000, 300n), order(2, SIDE_ASK, 1000, 300n)]
const siteIds = [0, 1, 2]

describe('checkClearing', () => {
  it('accepts the auction of the committed orders, with an unmatched order among them', () => {
    const result = checkClearing(orders, { interval: 5n, price: 200n, siteIds, matches: [word(0, 1, 1000)] })
    expect(result).toMatchObject({ honest: true, differences: [], expectedMatches: [word(0, 1, 1000)] })
    expect(result.expected).toEqual(clearAuction(5n, orders))
  })

  it('names a clearing that sells from another ask at the buyer\'s limit', () => {
    const result = checkClearing(orders, { interval: 5n, price: 300n, siteIds, matches: [word(2, 1, 1000)] })
    expect(result.honest).toBe(false)
    expect(result.differences).toEqual(['matches [2 -> 1 1000 Wh]; the auction\'s [0 -> 1 1000 Wh]', 'price 300; the auction\'s 200'])
  })

  it('names a price that is not the auction\'s for the same matches', () => {
    const result = checkClearing(orders, { interval: 5n, price: 250n, siteIds, matches: [word(0, 1, 1000)] })
    expect(result.differences).toEqual(['price 250; the auction\'s 200'])
  })

  it('a clearing without trades: honest only when the auction has none either, whatever its price', () => {
    const noTrade = [order(0, SIDE_ASK, 1000, 400n), order(1, SIDE_BID, 1000, 300n)]
    expect(checkClearing(noTrade, { interval: 5n, price: 0n, siteIds: [0, 1], matches: [] }).honest).toBe(true)
    expect(checkClearing(orders, { interval: 5n, price: 0n, siteIds, matches: [] }).differences).toEqual(['matches []; the auction\'s [0 -> 1 1000 Wh]'])
  })

  it('orders of 0 Wh take no part (as on chain); clearAuction alone refuses them', () => {
    const withZero = [...orders, order(3, SIDE_ASK, 0, 0n)]
    expect(() => clearAuction(5n, withZero)).toThrow(/energyWh/)
    expect(checkClearing(withZero, { interval: 5n, price: 200n, siteIds: [0, 1, 2, 3], matches: [word(0, 1, 1000)] }).honest).toBe(true)
  })

  it('names an auction match whose site is not among the committed sites', () => {
    const result = checkClearing(orders, { interval: 5n, price: 300n, siteIds: [1, 2], matches: [word(1, 0, 1000)] })
    expect(result.differences[0]).toBe('the auction matches site 0 -> 1, which is not among the committed sites')
  })
})
