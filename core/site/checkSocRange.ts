import type { z } from 'zod'

/** An empty SoC range leaves the battery nothing to use; named at socMinPct with both values. */
export function checkSocRange(minPct: number | undefined, maxPct: number | undefined, ctx: z.RefinementCtx): void {
  if (minPct !== undefined && maxPct !== undefined && !(minPct < maxPct)) {
    ctx.addIssue({ code: 'custom', path: ['socMinPct'], message: `expected below socMaxPct (${maxPct}), got ${minPct}` })
  }
}
