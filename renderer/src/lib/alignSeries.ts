export type TimeSeries = { t: readonly number[]; v: readonly (number | null)[] }

/**
 * Series with their own timestamps (telemetry, plan slots, forecast slots) on one time
 * axis, as uPlot wants: the sorted union of times, each series null where it has no
 * value. A k-way merge over already sorted inputs, so a week of seconds stays linear.
 */
export function alignSeries(series: readonly TimeSeries[]): { x: number[]; ys: (number | null)[][] } {
  const idx = series.map(() => 0)
  const x: number[] = []
  const ys: (number | null)[][] = series.map(() => [])
  for (;;) {
    let next = Infinity
    for (let s = 0; s < series.length; s++) {
      const t = series[s]!.t[idx[s]!]
      if (t !== undefined && t < next) next = t
    }
    if (next === Infinity) break
    x.push(next)
    for (let s = 0; s < series.length; s++) {
      const ser = series[s]!
      if (ser.t[idx[s]!] === next) {
        ys[s]!.push(ser.v[idx[s]!] ?? null)
        // Duplicate timestamps within one series: the last one wins.
        while (ser.t[idx[s]!] === next) idx[s]!++
      } else ys[s]!.push(null)
    }
  }
  return { x, ys }
}
