/** How old a value is, for the "age" every live value carries: "now", "12 s", "4 min", "2 h 5 min", "3 d". */
export function formatAge(ageMs: number | null | undefined): string {
  if (ageMs == null || !Number.isFinite(ageMs)) return 'never'
  const s = Math.max(0, Math.floor(ageMs / 1000))
  if (s < 1) return 'now'
  if (s < 60) return `${s} s`
  const min = Math.floor(s / 60)
  if (min < 60) return `${min} min`
  const h = Math.floor(min / 60)
  if (h < 48) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`
  return `${Math.floor(h / 24)} d`
}

/** "just now", "12 s ago", or "never": the age line under a live value. */
export function formatAgo(ageMs: number | null | undefined): string {
  if (ageMs == null || !Number.isFinite(ageMs)) return 'never'
  return ageMs < 1000 ? 'just now' : `${formatAge(ageMs)} ago`
}
