import { describe, expect, it } from 'vitest'
import { previewValue } from './previewValue.ts'

describe('previewValue', () => {
  it('is JSON for small values', () => {
    for (const v of ['abc', 3, null, true, [1, 'a', null], { a: 1, b: [2, { c: 'x' }] }, {}, []]) expect(previewValue(v)).toBe(JSON.stringify(v))
    expect(previewValue(new Date(0))).toBe('"1970-01-01T00:00:00.000Z"')
    expect(previewValue(10n)).toBe('10n')
    expect(previewValue([undefined])).toBe('[null]')
  })

  it('cuts long values at the budget and marks the cut', () => {
    expect(previewValue('x'.repeat(500), 10)).toBe(`"${'x'.repeat(9)}…`)
    expect(previewValue(Array.from({ length: 1000 }, (_, i) => i), 12)).toBe('[0,1,2,3,4,5…')
  })

  it('survives nesting far deeper than the stack and cycles', () => {
    let deep: unknown = 1
    for (let i = 0; i < 200_000; i++) deep = [deep]
    expect(previewValue(deep, 20)).toBe(`${'['.repeat(20)}…`)
    const cycle: Record<string, unknown> = { a: 1 }
    cycle.self = cycle
    expect(previewValue(cycle, 30)).toBe('{"a":1,"self":{"a":1,"self":{"…')
  })
})
