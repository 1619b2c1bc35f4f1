import type { TelemetryTier } from '../../store/createStore.ts'

/** How long each tier is kept (the store's defaults): a range reaching further back cannot use it. */
export type TierRetention = { rawMs: number; oneMinuteMs: number }

export const defaultTierRetention: TierRetention = { rawMs: 2 * 86_400_000, oneMinuteMs: 60 * 86_400_000 }

/** Spans up to which a tier is fine enough and still small: 6 h of 1 s samples, 7 days of minutes. */
export const rawUpToMs = 6 * 3_600_000
export const oneMinuteUpToMs = 7 * 86_400_000

/**
 * The tier a trend reads: the finest whose rows over the range stay a few ten thousand
 * per point (raw up to 6 h, 1 min up to 7 days, else 15 min), and that still holds the
 * range's start (raw is kept 2 days, 1 min 60 days), so an old range is never empty.
 */
export function pickTrendTier(q: { fromMs: number; toMs: number; nowMs: number; retention?: TierRetention }): TelemetryTier {
  const keep = q.retention ?? defaultTierRetention
  const spanMs = q.toMs - q.fromMs
  const ageMs = q.nowMs - q.fromMs
  if (spanMs <= rawUpToMs && ageMs <= keep.rawMs) return 'raw'
  if (spanMs <= oneMinuteUpToMs && ageMs <= keep.oneMinuteMs) return '1m'
  return '15m'
}
