import { describe, expect, it } from 'vitest'
import { chooseDemoHardware } from './chooseDemoHardware.ts'

describe('chooseDemoHardware', () => {
  it('gives every site different hardware, so some have surplus when others lack it', () => {
    const sites = Array.from({ length: 8 }, (_, id) => chooseDemoHardware(id))
    expect(new Set(sites.map((h) => JSON.stringify(h))).size).toBe(8)
    const ratio = sites.map((h) => h.pvRatedW / h.loadPeakW)
    expect(Math.max(...ratio)).toBeGreaterThan(2)
    expect(Math.min(...ratio)).toBeLessThan(0.5)
  })
})
