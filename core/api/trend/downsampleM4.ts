/** A point of a trend: a raw sample, or a stored bucket (value = its average, with its min and max). */
export type TrendPoint = { timeMs: number; value: number; min?: number; max?: number }

export type DownsampleM4Parameters = {
  /** Sorted by time. */
  points: readonly TrendPoint[]
  fromMs: number
  toMs: number
  /** Pixel columns of the chart: at most four points come back per column. */
  buckets: number
}

/**
 * M4 (Jugel et al., VLDB 2014): per pixel column, the first, last, lowest and highest
 * point, in time order. A line drawn through them at that width is the same picture
 * as one drawn through every point, at most 4 x `buckets` points whatever the range. A
 * stored bucket's min and max count as points at the bucket's time, so a spike inside a
 * 15-minute average still shows. A column with one point passes it through unchanged.
 */
export function downsampleM4({ points, fromMs, toMs, buckets }: DownsampleM4Parameters): TrendPoint[] {
  if (!(toMs > fromMs)) throw new RangeError(`downsampleM4: toMs (${toMs}) must be after fromMs (${fromMs})`)
  if (!Number.isSafeInteger(buckets) || buckets < 1) throw new RangeError(`downsampleM4: buckets must be a positive integer, got ${buckets}`)
  const widthMs = (toMs - fromMs) / buckets
  const out: TrendPoint[] = []
  let i = 0
  while (i < points.length) {
    const column = Math.floor((points[i]!.timeMs - fromMs) / widthMs)
    let j = i + 1
    while (j < points.length && Math.floor((points[j]!.timeMs - fromMs) / widthMs) === column) j++
    if (j - i === 1) {
      out.push(points[i]!)
    } else {
      const first = points[i]!
      const last = points[j - 1]!
      let low = { timeMs: first.timeMs, value: first.min ?? first.value }
      let high = { timeMs: first.timeMs, value: first.max ?? first.value }
      for (let k = i; k < j; k++) {
        const p = points[k]!
        const lo = p.min ?? p.value
        const hi = p.max ?? p.value
        if (lo < low.value) low = { timeMs: p.timeMs, value: lo }
        if (hi > high.value) high = { timeMs: p.timeMs, value: hi }
      }
      // first, then the extremes in the order they happened, then last; a point that is two of them once
      const extremes = low.timeMs <= high.timeMs ? [low, high] : [high, low]
      const picked = [{ timeMs: first.timeMs, value: first.value }, ...extremes, { timeMs: last.timeMs, value: last.value }]
      for (const p of picked) {
        const prev = out[out.length - 1]
        if (prev && prev.timeMs === p.timeMs && prev.value === p.value) continue
        out.push(p)
      }
    }
    i = j
  }
  return out
}
