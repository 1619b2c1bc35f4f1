export type ForecastScore = { maeKw: number; rmseKw: number; mapePct: number; count: number }

/** MAE, RMSE and MAPE over pairs where both values are known; MAPE skips actuals of zero. */
export function scoreForecasts(actualKw: ArrayLike<number>, predictedKw: ArrayLike<number>): ForecastScore {
  let absolute = 0
  let squared = 0
  let percent = 0
  let count = 0
  let percentCount = 0
  for (let i = 0; i < actualKw.length; i++) {
    const a = actualKw[i] ?? Number.NaN
    const p = predictedKw[i] ?? Number.NaN
    if (!Number.isFinite(a) || !Number.isFinite(p)) continue
    const error = p - a
    absolute += Math.abs(error)
    squared += error * error
    count++
    if (a !== 0) {
      percent += Math.abs(error / a)
      percentCount++
    }
  }
  return {
    maeKw: count ? absolute / count : Number.NaN,
    rmseKw: count ? Math.sqrt(squared / count) : Number.NaN,
    mapePct: percentCount ? (100 * percent) / percentCount : Number.NaN,
    count,
  }
}
