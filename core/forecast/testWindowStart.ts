import type { FeatureContext } from './buildFeatures.ts'
import { localMidnights } from './localMidnights.ts'

/** The local midnight that starts the last `testDays` complete local days (the eval hold-out). */
export function testWindowStart(context: FeatureContext, testDays: number): number {
  const n = context.series.loadKw.length
  const midnights = localMidnights(context, 1, n + 1).filter((m) => m <= n)
  const start = midnights[midnights.length - 1 - testDays]
  return start ?? -1
}
