import { describe, expect, it } from 'vitest'
import { planReads, type RegisterRange } from './planReads.ts'

const r = (address: number, count: number, fn: 'holding' | 'input' = 'input', unitId = 1): RegisterRange => ({ unitId, fn, address, count })

describe('planReads', () => {
  it('merges adjacent ranges and ranges within the gap, per unit and function', () => {
    const blocks = planReads([r(0x48, 2), r(0, 2), r(0x46, 2), r(0x34, 2), r(10, 1, 'holding'), r(0, 1, 'input', 2)], { maxRegisters: 80, maxGap: 30 })
    expect(blocks).toEqual([r(10, 1, 'holding'), r(0, 2), r(0x34, 0x4a - 0x34), r(0, 1, 'input', 2)])
  })

  it('never reads an unused register when the gap is 0, nor more than maxRegisters at once', () => {
    expect(planReads([r(820, 1), r(821, 1), r(823, 1)], { maxRegisters: 125, maxGap: 0 })).toEqual([r(820, 2), r(823, 1)])
    const many = Array.from({ length: 10 }, (_, i) => r(i * 2, 2))
    const blocks = planReads(many, { maxRegisters: 6, maxGap: 0 })
    expect(blocks.every((b) => b.count <= 6)).toBe(true)
    expect(blocks.reduce((s, b) => s + b.count, 0)).toBe(20)
  })
})
