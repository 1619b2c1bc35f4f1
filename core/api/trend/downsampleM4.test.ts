import { describe, expect, it } from 'vitest'
import { downsampleM4, type TrendPoint } from './downsampleM4.ts'
import { createSeededRandom as random } from '../../random/createSeededRandom.ts'


describe('downsampleM4', () => {
  it('keeps first, min, max and last of each column in time order', () => {
    const points: TrendPoint[] = [
      { timeMs: 0, value: 5 },
      { timeMs: 1, value: 9 },
      { timeMs: 2, value: 1 },
      { timeMs: 3, value: 4 },
      // next column: the max comes before the min
      { timeMs: 10, value: 3 },
      { timeMs: 11, value: 1 },
      { timeMs: 12, value: 8 },
      { timeMs: 13, value: 0 },
      { timeMs: 14, value: 2 },
    ]
    expect(downsampleM4({ points, fromMs: 0, toMs: 20, buckets: 2 })).toEqual([
      { timeMs: 0, value: 5 },
      { timeMs: 1, value: 9 },
      { timeMs: 2, value: 1 },
      { timeMs: 3, value: 4 },
      { timeMs: 10, value: 3 },
      { timeMs: 12, value: 8 },
      { timeMs: 13, value: 0 },
      { timeMs: 14, value: 2 },
    ])
  })

  it('passes a lone point (with its bucket min and max) through, and does not repeat a point that is first and min', () => {
    const lone = { timeMs: 5, value: 2, min: 1, max: 3 }
    expect(downsampleM4({ points: [lone], fromMs: 0, toMs: 10, buckets: 1 })).toEqual([lone])
    expect(downsampleM4({ points: [{ timeMs: 0, value: 1 }, { timeMs: 1, value: 3 }], fromMs: 0, toMs: 10, buckets: 1 })).toEqual([
      { timeMs: 0, value: 1 },
      { timeMs: 1, value: 3 },
    ])
  })

  it("uses a stored bucket's min and max, so a spike inside an average still shows", () => {
    const points = [
      { timeMs: 0, value: 10, min: 9, max: 11 },
      { timeMs: 900, value: 10, min: 2, max: 95 },
      { timeMs: 1800, value: 10, min: 9, max: 11 },
    ]
    const out = downsampleM4({ points, fromMs: 0, toMs: 2700, buckets: 1 })
    expect(Math.max(...out.map((p) => p.value))).toBe(95)
    expect(Math.min(...out.map((p) => p.value))).toBe(2)
    expect(out[0]).toEqual({ timeMs: 0, value: 10 })
    expect(out.at(-1)).toEqual({ timeMs: 1800, value: 10 })
  })

  it('on random series: at most 4 per column, every column keeps its extremes and ends, time never goes back', () => {
    const seed = process.env.SEED ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31)
    console.log(`downsampleM4 random series: seed ${seed} (SEED=${seed} replays it)`)
    const rand = random(seed)
    for (let round = 0; round < 50; round++) {
      const n = 1 + Math.floor(rand() * 5000)
      const fromMs = Math.floor(rand() * 1e6)
      const toMs = fromMs + n * 1000
      const points = Array.from({ length: n }, (_, i) => ({ timeMs: fromMs + i * 1000 + Math.floor(rand() * 1000), value: Math.round((rand() - 0.5) * 1e4) }))
      const buckets = 1 + Math.floor(rand() * 300)
      const out = downsampleM4({ points, fromMs, toMs, buckets })
      const at = `seed ${seed} round ${round}`
      expect(out.length, at).toBeLessThanOrEqual(4 * buckets)
      for (let i = 1; i < out.length; i++) expect(out[i]!.timeMs, at).toBeGreaterThanOrEqual(out[i - 1]!.timeMs)
      const widthMs = (toMs - fromMs) / buckets
      const columns = new Map<number, TrendPoint[]>()
      for (const p of points) {
        const c = Math.floor((p.timeMs - fromMs) / widthMs)
        columns.set(c, [...(columns.get(c) ?? []), p])
      }
      for (const [c, members] of columns) {
        const kept = out.filter((p) => Math.floor((p.timeMs - fromMs) / widthMs) === c)
        const values = members.map((p) => p.value)
        expect(Math.max(...kept.map((p) => p.value)), at).toBe(Math.max(...values))
        expect(Math.min(...kept.map((p) => p.value)), at).toBe(Math.min(...values))
        expect(kept[0], at).toEqual(members[0])
        expect(kept.at(-1), at).toEqual(members.at(-1))
      }
    }
  })

  it('refuses an empty range or no columns', () => {
    expect(() => downsampleM4({ points: [], fromMs: 5, toMs: 5, buckets: 1 })).toThrow('downsampleM4: toMs (5) must be after fromMs (5)')
    expect(() => downsampleM4({ points: [], fromMs: 0, toMs: 5, buckets: 0 })).toThrow('downsampleM4: buckets must be a positive integer, got 0')
  })
})
