import type { Store } from '../../store/createStore.ts'
import type { TrendQuery, TrendResult } from '../contract.ts'
import { downsampleM4 } from './downsampleM4.ts'
import { pickTrendTier, type TierRetention } from './pickTrendTier.ts'

export const defaultMaxPoints = 4000

/** GET /api/trend: the tier for the range, thinned M4-style to at most maxPoints points. */
export function answerTrend(store: Pick<Store, 'queryTelemetry'>, query: TrendQuery, nowMs: number, retention?: TierRetention): TrendResult {
  const tier = query.tier ?? pickTrendTier({ fromMs: query.fromMs, toMs: query.toMs, nowMs, ...(retention && { retention }) })
  const stored = store.queryTelemetry({ device: query.device, point: query.point, fromMs: query.fromMs, toMs: query.toMs, tier })
  const points = stored.map((r) => (r.min === undefined ? { timeMs: r.timeMs, value: r.value } : { timeMs: r.timeMs, value: r.value, min: r.min, max: r.max! }))
  const buckets = Math.max(1, Math.floor((query.maxPoints ?? defaultMaxPoints) / 4))
  return {
    device: query.device,
    point: query.point,
    fromMs: query.fromMs,
    toMs: query.toMs,
    tier,
    bucketMs: (query.toMs - query.fromMs) / buckets,
    sourceRows: stored.length,
    rows: downsampleM4({ points, fromMs: query.fromMs, toMs: query.toMs, buckets }),
  }
}
