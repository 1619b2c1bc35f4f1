/** Mean of the 7 days before each index (and up to `extra` indices past the end), NaN when less than half is known. */
export function trailingLevels(loadKw: Float64Array, slotsPerDay: number, extra: number): Float64Array {
  const n = loadKw.length
  const window = 7 * slotsPerDay
  const sums = new Float64Array(n + 1)
  const hits = new Int32Array(n + 1)
  for (let i = 0; i < n; i++) {
    const v = loadKw[i] ?? Number.NaN
    const known = !Number.isNaN(v)
    sums[i + 1] = (sums[i] ?? 0) + (known ? v : 0)
    hits[i + 1] = (hits[i] ?? 0) + (known ? 1 : 0)
  }
  const levels = new Float64Array(n + extra + 1)
  for (let i = 0; i <= n + extra; i++) {
    // Past the end, the level stays the one known at the end of the history.
    const end = Math.min(i, n)
    const start = end - window
    if (start < 0) {
      levels[i] = Number.NaN
      continue
    }
    const h = (hits[end] ?? 0) - (hits[start] ?? 0)
    levels[i] = h * 2 >= window ? ((sums[end] ?? 0) - (sums[start] ?? 0)) / h : Number.NaN
  }
  return levels
}
