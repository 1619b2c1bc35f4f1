import type { LoadSeries } from './toRegularSeries.ts'
import type { SlotCalendar } from './createCalendar.ts'

const dayMs = 86_400_000

/** Everything feature building needs about one history: the series, its calendar (extended past the end for targets) and trailing levels. */
export type FeatureContext = {
  series: LoadSeries
  grid: SlotCalendar
  slotsPerDay: number
  /** Mean load of the 7 days before each index (NaN when less than half of them are known): the scale all load features are divided by. */
  levelKw: Float64Array
  withTemperature: boolean
}

/** Forecasts to build rows for: issued at the start of slot `issue[i]` (everything before it is known), for slot `issue[i] + lead[i] - 1`. */
export type FeatureRequests = { issue: Int32Array; lead: Int32Array }

export type FeatureRows = {
  count: number
  numeric: Float32Array
  slotOfDay: Int32Array
  weekday: Int32Array
  /** Target load divided by the level (NaN when unknown). */
  target: Float32Array
  levelKw: Float32Array
  /** 1 where every input the model needs is known. */
  usable: Uint8Array
}

export const loadFeatureNames = ['lagDay', 'lagWeek', 'lagWeekMean', 'last', 'lastYesterday', 'lastLastWeek', 'leadDays', 'leadDecay', 'holiday', 'holidayLagDay', 'holidayLagWeek', 'weekendLagDay'] as const
export const temperatureFeatureNames = ['temperatureLast', 'temperatureLagDay', 'temperatureLastYesterday'] as const

/** The numeric feature names for a history with or without temperature. */
export function featureNames(withTemperature: boolean): string[] {
  return withTemperature ? [...loadFeatureNames, ...temperatureFeatureNames] : [...loadFeatureNames]
}

/** Builds model inputs for forecast requests; only values before each request's issue slot are read. */
export function buildFeatures(context: FeatureContext, requests: FeatureRequests): FeatureRows {
  const { series, grid, slotsPerDay: spd, levelKw } = context
  const y = series.loadKw
  const n = y.length
  const names = featureNames(context.withTemperature)
  const width = names.length
  const count = requests.issue.length
  const rows: FeatureRows = {
    count,
    numeric: new Float32Array(count * width),
    slotOfDay: new Int32Array(count),
    weekday: new Int32Array(count),
    target: new Float32Array(count),
    levelKw: new Float32Array(count),
    usable: new Uint8Array(count),
  }
  const at = (index: number, limit: number): number => (index >= 0 && index < limit && index < n ? (y[index] ?? Number.NaN) : Number.NaN)
  // Same local wall-clock slot `days` earlier (DST-safe): shift by the change in UTC offset.
  const lag = (index: number, days: number): number => {
    const j0 = index - days * spd
    if (j0 < 0) return -1
    return j0 + Math.round(((grid.offsetMs[index] ?? 0) - (grid.offsetMs[j0] ?? 0)) / series.slotMs)
  }
  const holiday = series.holiday
  const temperature = series.temperatureC
  for (let r = 0; r < count; r++) {
    const issue = requests.issue[r] ?? 0
    const lead = requests.lead[r] ?? 1
    const t = issue + lead - 1
    const level = levelKw[issue] ?? Number.NaN
    let daysBack = Math.ceil(lead / spd)
    let lagDayIndex = lag(t, daysBack)
    // Around a DST change the wall-clock lag can land at or after the issue slot: go one more day back.
    if (lagDayIndex >= issue) lagDayIndex = lag(t, ++daysBack)
    const lagWeekIndex = lag(t, Math.max(7, daysBack))
    let weekSum = 0
    let weekHits = 0
    for (let d = daysBack; d < daysBack + 7; d++) {
      const v = at(lag(t, d), issue)
      if (!Number.isNaN(v)) {
        weekSum += v
        weekHits++
      }
    }
    const weekMean = weekHits >= 4 ? weekSum / weekHits : Number.NaN
    let lagDay = at(lagDayIndex, issue)
    let lagWeek = at(lagWeekIndex, issue)
    let last = at(issue - 1, issue)
    let lastYesterday = at(lag(issue - 1, 1), issue)
    let lastLastWeek = at(lag(issue - 1, 7), issue)
    // Single missing lags fall back to the weekly mean so one gap does not void a forecast.
    if (Number.isNaN(lagDay)) lagDay = weekMean
    if (Number.isNaN(lagWeek)) lagWeek = weekMean
    if (Number.isNaN(last)) last = lagDay
    if (Number.isNaN(lastYesterday)) lastYesterday = last
    if (Number.isNaN(lastLastWeek)) lastLastWeek = lastYesterday
    const o = r * width
    const numeric = rows.numeric
    numeric[o] = lagDay / level
    numeric[o + 1] = lagWeek / level
    numeric[o + 2] = weekMean / level
    numeric[o + 3] = last / level
    numeric[o + 4] = lastYesterday / level
    numeric[o + 5] = lastLastWeek / level
    numeric[o + 6] = lead / spd
    numeric[o + 7] = Math.exp(-(lead - 1) / Math.max(1, spd / 12))
    numeric[o + 8] = holiday?.[t] ?? 0
    numeric[o + 9] = holiday?.[lagDayIndex] ?? 0
    numeric[o + 10] = holiday?.[lagWeekIndex] ?? 0
    numeric[o + 11] = (grid.weekday[lagDayIndex] ?? 0) >= 5 ? 1 : 0
    let usable = Number.isFinite(level) && level > 0 && Number.isFinite(lagDay) && Number.isFinite(last)
    if (context.withTemperature && temperature) {
      const tempAt = (index: number): number => (index >= 0 && index < issue ? (temperature[index] ?? Number.NaN) : Number.NaN)
      const tLast = tempAt(issue - 1)
      numeric[o + 12] = tLast
      numeric[o + 13] = tempAt(lagDayIndex)
      numeric[o + 14] = tempAt(lag(issue - 1, 1))
      usable = usable && Number.isFinite(numeric[o + 12] ?? Number.NaN) && Number.isFinite(numeric[o + 13] ?? Number.NaN) && Number.isFinite(numeric[o + 14] ?? Number.NaN)
    }
    rows.slotOfDay[r] = Math.min(spd - 1, grid.slotOfDay[t] ?? 0)
    rows.weekday[r] = grid.weekday[t] ?? 0
    rows.levelKw[r] = level
    rows.target[r] = t < n ? (y[t] ?? Number.NaN) / level : Number.NaN
    rows.usable[r] = usable ? 1 : 0
  }
  return rows
}

/** Slots in one day of 24 hours at this slot length. */
export function slotsPerDayOf(slotMs: number): number {
  return Math.round(dayMs / slotMs)
}
