import { StoreInputError } from './errors.ts'

const DAY_MS = 86_400_000

/** How long each tier is kept, in ms; null keeps it forever. Defaults: raw 2 days, 1 min 60 days, 15 min forever. */
export type StoreRetention = { rawMs?: number; oneMinuteMs?: number; fifteenMinuteMs?: number | null }

/** How long each telemetry tier is kept, checked: each tier is rolled from the one below, so it must outlive it. */
export function checkRetention(retention: StoreRetention) {
  const keep = {
    rawMs: retention.rawMs ?? 2 * DAY_MS,
    oneMinuteMs: retention.oneMinuteMs ?? 60 * DAY_MS,
    fifteenMinuteMs: retention.fifteenMinuteMs === undefined ? null : retention.fifteenMinuteMs,
  }
  for (const [field, value] of Object.entries(keep)) {
    if (value !== null && (!Number.isSafeInteger(value) || value <= 0)) {
      throw new StoreInputError({ method: 'createStore', field: `retention.${field}`, expected: 'a positive integer of milliseconds', got: value })
    }
  }
  // Each tier is rolled from the one below, so it must outlive it.
  if (keep.oneMinuteMs < keep.rawMs) {
    throw new StoreInputError({ method: 'createStore', field: 'retention.oneMinuteMs', expected: `at least retention.rawMs (${keep.rawMs})`, got: keep.oneMinuteMs })
  }
  if (keep.fifteenMinuteMs !== null && keep.fifteenMinuteMs < keep.oneMinuteMs) {
    throw new StoreInputError({
      method: 'createStore',
      field: 'retention.fifteenMinuteMs',
      expected: `at least retention.oneMinuteMs (${keep.oneMinuteMs}) or null`,
      got: keep.fifteenMinuteMs,
    })
  }
  return keep
}
