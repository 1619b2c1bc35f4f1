import { describe, expect, it } from 'vitest'
import { layoutModel } from './layoutModel.ts'
import { UnknownSunSpecModelError } from './loadModelDefinition.ts'

describe('layoutModel', () => {
  // Lengths from the SunSpec model tables (reference README), not from our own arithmetic.
  it.each([
    [1, 66], [103, 50], [120, 26], [121, 30], [122, 44], [123, 24], [124, 24],
    [203, 105], [704, 65], [713, 7], [802, 62], [113, 60], [701, 153],
  ])('model %i has length %i', (id, length) => {
    expect(layoutModel(id).length).toBe(length)
  })

  it('places points in order with scale factors resolved by name', () => {
    const layout = layoutModel(103)
    const w = layout.byPath.get('W')!
    expect(w.offset).toBe(14) // ID, L, A, AphA..C, A_SF, 6 voltages, V_SF => W at 2+12
    expect(w.sfPath).toBe('W_SF')
    expect(layout.byPath.get('W_SF')!.offset).toBe(15)
    expect(layout.byPath.get('WH')!.registers).toBe(2)
  })

  it('lays out nested groups after the points and resolves their scale factors at model level', () => {
    const layout = layoutModel(704)
    const pf = layout.byPath.get('PFWInj.PF')!
    expect(pf.sfPath).toBe('PF_SF')
    expect(pf.offset).toBeGreaterThan(layout.byPath.get('WSet_SF')!.offset)
    expect(layout.points.at(-1)!.path).toBe('PFWAbsRvrt.Ext')
  })

  it('repeats a count-0 group as many times as the device length allows', () => {
    const fixed = layoutModel(160, { groupCounts: { module: 0 } }).length
    const two = layoutModel(160, { length: fixed + 40 })
    expect(two.byPath.get('module[1].DCA')).toBeDefined()
    expect(two.byPath.get('module[2].DCA')).toBeUndefined()
    expect(two.byPath.get('module[1].DCA')!.sfPath).toBe('DCA_SF')
  })

  it('rejects a length that does not fit whole groups, and unknown models by id', () => {
    expect(() => layoutModel(160, { length: 8 + 7 })).toThrow(/length 15 does not fit whole 'module' groups of 20 registers/)
    expect(() => layoutModel(9999)).toThrow(UnknownSunSpecModelError)
  })
})
