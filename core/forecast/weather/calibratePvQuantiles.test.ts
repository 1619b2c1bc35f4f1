import { describe, expect, it } from 'vitest'
import { createSeededRandom } from '../../random/createSeededRandom.ts'
import { applyPvQuantiles } from './applyPvQuantiles.ts'
import { calibratePvQuantiles, type PvResidual } from './calibratePvQuantiles.ts'
import { createPvResidualLog } from './createPvResidualLog.ts'

const hourMs = 3_600_000
const seed = 16
// Residuals whose spread grows with the lead, as a weather forecast's do (uniform, so the true P10/P90 are known).
const draw = (random: () => number, n: number): PvResidual[] =>
  Array.from({ length: n }, () => {
    const leadMs = random() * 24 * hourMs
    const spread = 0.05 + 0.3 * (leadMs / (24 * hourMs))
    return { leadMs, residual: (2 * random() - 1) * spread }
  })

describe('calibratePvQuantiles', () => {
  it(`P10-P90 from past residuals cover about 80 % of new ones in every lead block (seed ${seed})`, () => {
    const random = createSeededRandom(seed)
    const table = calibratePvQuantiles(draw(random, 20_000))
    expect(table.source).toBe('site residuals: 20000 daylight slots; prior for leads 24 h+')
    const fresh = draw(random, 20_000)
    const bounds = [0, 3, 12, 24].map((h) => h * hourMs)
    for (let b = 0; b < 3; b++) {
      const inBlock = fresh.filter((r) => r.leadMs >= bounds[b]! && r.leadMs < bounds[b + 1]!)
      const { low, high } = table.blocks[b]!
      const covered = inBlock.filter((r) => r.residual >= low && r.residual <= high).length / inBlock.length
      expect(covered).toBeGreaterThan(0.77)
      expect(covered).toBeLessThan(0.83)
    }
    // Wider the further ahead.
    expect(table.blocks[2]!.high - table.blocks[2]!.low).toBeGreaterThan(2 * (table.blocks[0]!.high - table.blocks[0]!.low))
  })

  it('a block with too few residuals takes the prior and says so', () => {
    const table = calibratePvQuantiles(draw(createSeededRandom(seed), 150), { minSamples: 50 })
    expect(table.blocks.map((b) => b.calibrated)).toEqual([false, true, true, false])
    expect(table.source).toBe('site residuals: 150 daylight slots; prior for leads 0-3 h, 24 h+')
    expect(calibratePvQuantiles([]).source).toBe('prior (fewer than 100 daylight residuals per lead block)')
  })
})

describe('applyPvQuantiles', () => {
  it('scales the band with clear sky, keeps it within 0 and the peak and around the P50', () => {
    const table = { blocks: [{ toLeadMs: Number.POSITIVE_INFINITY, low: -0.3, high: 0.3, samples: 500, calibrated: true }], source: 'test' }
    const band = applyPvQuantiles({ table, powerKw: [0, 1, 7.5, 4], clearSkyKw: [0, 2, 8, 8], leadMs: [0, 0, 0, 0], peakPowerKw: 8.8 })
    expect(band.p10Kw).toEqual([0, 0.4, 5.1, 1.6])
    expect(band.p90Kw.map((x) => Math.round(x * 100) / 100)).toEqual([0, 1.6, 8.8, 6.4])
  })
})

describe('createPvResidualLog', () => {
  it('keeps one forecast an hour for the last days, and gives residuals only where production was measured', () => {
    const log = createPvResidualLog({ keepDays: 1 })
    const slotMs = 900_000
    const t0 = Date.parse('2013-01-15T00:00:00Z')
    for (let i = 0; i < 4 * 30; i++) log.record({ fromMs: t0 + i * slotMs, slotMs, powerKw: [1, 2], clearSkyKw: [4, 0.1] })
    // 30 hours of quarter-hourly forecasts: one an hour, the last day's 25.
    const measured = (startMs: number) => (startMs < t0 + 30 * hourMs ? 2 : undefined)
    const residuals = log.residuals(measured, 0.5)
    expect(residuals).toHaveLength(25)
    expect(residuals.every((r) => r.leadMs === 0 && r.residual === 0.25)).toBe(true)
    expect(log.residuals(() => undefined, 0.5)).toEqual([])
  })
})
