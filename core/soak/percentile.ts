/** The nearest-rank percentile (0-100) of values, or null when there are none. */
export function percentile(values: readonly number[], pct: number): number | null {
  if (!values.length) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((pct / 100) * sorted.length) - 1))]!
}
