import type { FeatureContext } from './buildFeatures.ts'

/** Issue slots at local midnight in [from, to). */
export function localMidnights(context: FeatureContext, from: number, to: number): number[] {
  const result: number[] = []
  for (let i = Math.max(1, from); i < to; i++) if ((context.grid.localDay[i] ?? 0) !== (context.grid.localDay[i - 1] ?? 0)) result.push(i)
  return result
}
