import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeProfileValue, encodeProfileValue, notAvailableWords } from './profileCodec.ts'
import { pointTypes, type ProfilePoint } from './profileSchema.ts'

const point = (over: Partial<ProfilePoint>): ProfilePoint => ({ name: 'p', label: 'P', address: 0, function: 'holding', type: 'int32', unit: 'W', invert: false, ...over })

describe('profile codec', () => {
  it('decodes what vendors send: word order, sign, scale, inversion', () => {
    // SDM630 total power 1234.5 W as float32, high word first: 0x449A 0x5000.
    expect(decodeProfileValue(point({ type: 'float32' }), [0x449a, 0x5000], 'big')).toBe(1234.5)
    // The same value low word first.
    expect(decodeProfileValue(point({ type: 'float32' }), [0x5000, 0x449a], 'little')).toBe(1234.5)
    // Huawei 37113: -1500 W (supply from the grid) is +1500 W import for GridMesh.
    expect(decodeProfileValue(point({ type: 'int32', invert: true }), [0xffff, 0xfa24], 'big')).toBe(1500)
    // Victron 843 SoC, uint16; Huawei 32106 kWh with gain 100 as Wh.
    expect(decodeProfileValue(point({ type: 'uint16', unit: '%' }), [87], 'big')).toBe(87)
    expect(decodeProfileValue(point({ type: 'uint32', scale: 10, unit: 'Wh' }), [0x0001, 0x0000], 'big')).toBe(655360)
    expect(decodeProfileValue(point({ type: 'uint16', scale: 0.1 }), [3], 'big')).toBe(0.3)
    expect(decodeProfileValue(point({ type: 'int64' }), [0xffff, 0xffff, 0xffff, 0xfffe], 'big')).toBe(-2)
    // Scale register (power of ten) and its "not available".
    expect(decodeProfileValue(point({ type: 'int16', scaleRegister: 'sf' }), [1234], 'big', -1)).toBe(123.4)
    expect(decodeProfileValue(point({ type: 'int16', scaleRegister: 'sf' }), [1234], 'big', null)).toBeNull()
  })

  it('turns "not available" into null, never a number', () => {
    expect(decodeProfileValue(point({ type: 'float32' }), notAvailableWords(point({ type: 'float32' }), 'big'), 'big')).toBeNull()
    const na = point({ type: 'uint16', notAvailable: 0xffff })
    expect(decodeProfileValue(na, notAvailableWords(na, 'little'), 'little')).toBeNull()
    expect(decodeProfileValue(na, [0xfffe], 'big')).toBe(0xfffe)
  })

  it('saturates integers at their type instead of wrapping', () => {
    expect([...encodeProfileValue(point({ type: 'int16' }), 40000, 'big')]).toEqual([0x7fff])
    expect([...encodeProfileValue(point({ type: 'uint16' }), -5, 'big')]).toEqual([0])
    expect([...encodeProfileValue(point({ type: 'int16', invert: true }), -40000, 'big')]).toEqual([0x7fff])
  })

  it('round-trips any value within the type to its register resolution', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...pointTypes), fc.constantFrom('big' as const, 'little' as const), fc.boolean(),
        fc.constantFrom(1, 0.1, 0.01, 10, 1000), fc.double({ min: -30000, max: 30000, noNaN: true }),
        (type, order, invert, scale, value) => {
          const p = point({ type, invert, scale })
          const unsigned = type.startsWith('uint')
          const v = unsigned ? Math.abs(value) : value
          const raw = v / scale
          if ((type === 'int16' && Math.abs(raw) > 32767) || (type === 'uint16' && raw > 65535)) return
          const back = decodeProfileValue(p, encodeProfileValue(p, invert && unsigned ? -v : v, order), order)!
          const expected = invert && unsigned ? -v : v
          const tolerance = type === 'float32' ? Math.abs(expected) * 1e-6 + 1e-9 : scale / 2 + 1e-9
          expect(Math.abs(back - expected)).toBeLessThanOrEqual(tolerance)
        },
      ),
    )
  })
})
