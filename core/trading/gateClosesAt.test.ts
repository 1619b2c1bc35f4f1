import { describe, expect, it } from 'vitest'
import { gateClosesAt } from './gateClosesAt.ts'

describe('gateClosesAt', () => {
  it('closes a tenth of the interval before its start, at most 60 s', () => {
    expect(gateClosesAt(10_000n, 900n)).toBe(9_940n)
    expect(gateClosesAt(10_000n, 60n)).toBe(9_994n)
    expect(gateClosesAt(10_000n, 300n)).toBe(9_970n)
    expect(gateClosesAt(100_000n, 3_600n)).toBe(99_940n)
  })
})
