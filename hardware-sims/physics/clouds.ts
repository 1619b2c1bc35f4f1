// A seeded cloud process, a pure function of time: each day draws a weather regime
// (clear, broken, overcast) and within the day clearness follows smooth value noise
// on 10-minute knots. The same seed and time always give the same sky, however the
// clock is stepped, so backtests and tests are reproducible.

/** A 32-bit hash of (seed, n) mapped to [0, 1). */
export function hashUnit(seed: number, n: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n | 0, 0xc2b2ae35)) >>> 0
  h ^= h >>> 16
  h = Math.imul(h, 0x7feb352d) >>> 0
  h ^= h >>> 15
  h = Math.imul(h, 0x846ca68b) >>> 0
  h ^= h >>> 16
  return (h >>> 0) / 0x1_0000_0000
}

const regimes = [
  { upTo: 0.5, mean: 0.97, swing: 0.03 }, // clear
  { upTo: 0.8, mean: 0.7, swing: 0.3 }, // broken cloud
  { upTo: 1.0, mean: 0.35, swing: 0.12 }, // overcast
]

const knotMs = 10 * 60_000

/** Clearness 0.05..1 at a UTC time for a seed. */
export function cloudClearness(timeMs: number, seed: number): number {
  const day = Math.floor(timeMs / 86_400_000)
  const draw = hashUnit(seed, day * 7919 + 1)
  const regime = regimes.find((r) => draw < r.upTo) ?? regimes[0]!
  const k = timeMs / knotMs
  const k0 = Math.floor(k)
  const frac = k - k0
  const smooth = (1 - Math.cos(Math.PI * frac)) / 2
  const noise = hashUnit(seed, k0) * (1 - smooth) + hashUnit(seed, k0 + 1) * smooth
  return Math.min(1, Math.max(0.05, regime.mean + regime.swing * (2 * noise - 1)))
}
