/** A percentage with its unit (one decimal below 10 %), "—" for no value. */
export function formatPercent(pct: number | null | undefined): string {
  if (pct == null || !Number.isFinite(pct)) return '—'
  return `${Math.abs(pct) < 10 ? pct.toFixed(1) : Math.round(pct)} %`
}
