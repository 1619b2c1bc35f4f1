/** Parameters of Taylor's double-seasonal Holt-Winters with an AR(1) error correction. */
export type HoltWintersParameters = { alpha: number; delta: number; omega: number; phi: number }

type State = { level: number; daily: Float64Array; weekly: Float64Array; lastError: number }

function initialState(y: Float64Array, from: number, spd: number): State {
  const week = 7 * spd
  const weekly = new Float64Array(week)
  const hits = new Int32Array(week)
  let total = 0
  let count = 0
  for (let i = from; i < from + 2 * week && i < y.length; i++) {
    const v = y[i] ?? Number.NaN
    if (Number.isNaN(v)) continue
    total += v
    count++
  }
  const level = count ? total / count : 0
  for (let i = from; i < from + 2 * week && i < y.length; i++) {
    const v = y[i] ?? Number.NaN
    if (Number.isNaN(v)) continue
    weekly[i % week] = (weekly[i % week] ?? 0) + (v - level)
    hits[i % week] = (hits[i % week] ?? 0) + 1
  }
  for (let k = 0; k < week; k++) weekly[k] = hits[k] ? (weekly[k] ?? 0) / (hits[k] ?? 1) : 0
  return { level, daily: new Float64Array(spd), weekly, lastError: 0 }
}

function step(state: State, p: HoltWintersParameters, y: number, t: number, spd: number): number {
  const d = t % spd
  const w = t % (7 * spd)
  const base = state.level + (state.daily[d] ?? 0) + (state.weekly[w] ?? 0)
  const forecast = base + p.phi * state.lastError
  // A missing value is replaced by its forecast: the states carry on unchanged.
  const error = Number.isNaN(y) ? 0 : y - forecast
  state.level += p.alpha * error
  state.daily[d] = (state.daily[d] ?? 0) + p.delta * error
  state.weekly[w] = (state.weekly[w] ?? 0) + p.omega * error
  state.lastError = Number.isNaN(y) ? p.phi * state.lastError : y - base
  return forecast
}

function forecastFrom(state: State, p: HoltWintersParameters, t: number, horizon: number, spd: number, out: Float64Array, offset: number): void {
  let correction = state.lastError
  for (let k = 0; k < horizon; k++) {
    correction *= p.phi
    const s = t + k
    out[offset + k] = state.level + (state.daily[s % spd] ?? 0) + (state.weekly[s % (7 * spd)] ?? 0) + correction
  }
}

/** Picks the parameters by grid search on one-step squared error over the last 16 weeks before `end` (the test data is never seen). */
export function fitHoltWinters(y: Float64Array, slotsPerDay: number, end: number): HoltWintersParameters {
  const spd = slotsPerDay
  const from = Math.max(0, end - 16 * 7 * spd)
  let best: HoltWintersParameters = { alpha: 0.02, delta: 0.1, omega: 0.1, phi: 0.9 }
  let bestError = Number.POSITIVE_INFINITY
  for (const alpha of [0.005, 0.02, 0.05, 0.15])
    for (const delta of [0.02, 0.08, 0.2, 0.35])
      for (const omega of [0.02, 0.08, 0.2, 0.35])
        for (const phi of [0.5, 0.8, 0.95]) {
          const p = { alpha, delta, omega, phi }
          const state = initialState(y, from, spd)
          let sse = 0
          // The first four weeks only warm up the seasonal states.
          for (let t = from; t < end; t++) {
            const v = y[t] ?? Number.NaN
            const f = step(state, p, v, t, spd)
            if (t >= from + 28 * spd && !Number.isNaN(v)) sse += (v - f) ** 2
          }
          if (sse < bestError) {
            bestError = sse
            best = p
          }
        }
  return best
}

/** Runs the filter over the history from `from` and returns a `horizon`-long forecast at each (ascending) issue index, flattened. */
export function forecastHoltWinters(y: Float64Array, slotsPerDay: number, p: HoltWintersParameters, from: number, issues: Int32Array, horizon: number): Float64Array {
  const out = new Float64Array(issues.length * horizon)
  const state = initialState(y, from, slotsPerDay)
  let t = from
  for (let r = 0; r < issues.length; r++) {
    const issue = issues[r] ?? 0
    for (; t < issue; t++) step(state, p, y[t] ?? Number.NaN, t, slotsPerDay)
    forecastFrom(state, p, issue, horizon, slotsPerDay, out, r * horizon)
  }
  return out
}
