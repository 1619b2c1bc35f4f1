import { createCalendar } from './createCalendar.ts'
import { slotsPerDayOf, type FeatureContext } from './buildFeatures.ts'
import { trailingLevels } from './trailingLevels.ts'
import type { LoadSeries } from './toRegularSeries.ts'

/** The calendar and trailing levels of a series, extended `extraSlots` past its end for forecast targets. */
export function createFeatureContext(series: LoadSeries, timeZone: string, extraSlots: number, withTemperature?: boolean): FeatureContext {
  const slotsPerDay = slotsPerDayOf(series.slotMs)
  const grid = createCalendar(timeZone).describeGrid(series.startMs, series.slotMs, series.loadKw.length + extraSlots + 1)
  return {
    series,
    grid,
    slotsPerDay,
    levelKw: trailingLevels(series.loadKw, slotsPerDay, extraSlots),
    // An all-empty temperature column is no temperature: it would make every row unusable.
    withTemperature: withTemperature ?? (series.temperatureC !== undefined && series.temperatureC.some(Number.isFinite)),
  }
}
