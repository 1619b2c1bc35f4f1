import { describe, expect, it } from 'vitest'
import { toJsonLine } from '../../market/jsonLines.ts'
import { DemoSiteError } from './DemoSiteError.ts'
import { parseSiteRequest } from './parseSiteRequest.ts'

describe('parseSiteRequest', () => {
  it('reads a request with its bigints', () => {
    expect(parseSiteRequest(toJsonLine({ type: 'order', interval: 7n, deadline: 1_800_000_000n }), 'site 1')).toEqual({ type: 'order', interval: 7n, deadline: 1_800_000_000n })
  })

  it('says where and what was wrong with a line that is not JSON', () => {
    expect(() => parseSiteRequest('{"type":"order",', 'site 1')).toThrow(DemoSiteError)
    expect(() => parseSiteRequest('{"type":"order",', 'site 1')).toThrow(/^site 1: malformed request line: .*; expected one JSON object per line\n/)
  })

  it('says which field of a request is wrong', () => {
    expect(() => parseSiteRequest(toJsonLine({ type: 'order', interval: 7 }), 'site 0')).toThrow(/^site 0: malformed request line: interval: expected bigint/)
    expect(() => parseSiteRequest(toJsonLine({ type: 'sell' }), 'site 0')).toThrow(/^site 0: malformed request line: type: .*expected a hello, order, clearing, reading or bye request$/)
  })

  it("refuses an order signature that is not two 32-byte words (it took hex of any length)", () => {
    const order = { siteId: 1, interval: 7n, side: 0, energyWh: 100, limitPrice: 5n, deadline: 9n, r: `0x${'ab'.repeat(32)}`, vs: `0x${'cd'.repeat(32)}` }
    const clearing = { interval: 7n, price: null, matches: [], tradedWh: 0 }
    expect(parseSiteRequest(toJsonLine({ type: 'clearing', orders: [order], clearing }), 'site 0')).toMatchObject({ type: 'clearing' })
    expect(() => parseSiteRequest(toJsonLine({ type: 'clearing', orders: [{ ...order, r: '0xab' }], clearing }), 'site 0')).toThrow(/orders\[0\]\.r: a 32-byte word/)
    expect(() => parseSiteRequest(toJsonLine({ type: 'clearing', orders: [{ ...order, vs: `0x${'cd'.repeat(33)}` }], clearing }), 'site 0')).toThrow(/orders\[0\]\.vs: a 32-byte word/)
  })
})
