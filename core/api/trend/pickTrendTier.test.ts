import { expect, it } from 'vitest'
import { pickTrendTier } from './pickTrendTier.ts'

const H = 3_600_000
const D = 24 * H
const now = Date.UTC(2026, 11, 2)

it('picks raw, 1 min or 15 min by the span of the range', () => {
  expect(pickTrendTier({ fromMs: now - 10 * 60_000, toMs: now, nowMs: now })).toBe('raw')
  expect(pickTrendTier({ fromMs: now - 6 * H, toMs: now, nowMs: now })).toBe('raw')
  expect(pickTrendTier({ fromMs: now - 6 * H - 1, toMs: now, nowMs: now })).toBe('1m')
  expect(pickTrendTier({ fromMs: now - 7 * D, toMs: now, nowMs: now })).toBe('1m')
  expect(pickTrendTier({ fromMs: now - 7 * D - 1, toMs: now, nowMs: now })).toBe('15m')
  expect(pickTrendTier({ fromMs: now - 90 * D, toMs: now, nowMs: now })).toBe('15m')
})

it('steps to a coarser tier when the finer one no longer holds the start of the range', () => {
  expect(pickTrendTier({ fromMs: now - 3 * D, toMs: now - 3 * D + H, nowMs: now })).toBe('1m')
  expect(pickTrendTier({ fromMs: now - 61 * D, toMs: now - 61 * D + H, nowMs: now })).toBe('15m')
  expect(pickTrendTier({ fromMs: now - 1 * D, toMs: now - 1 * D + H, nowMs: now, retention: { rawMs: H, oneMinuteMs: 2 * D } })).toBe('1m')
})
