import { LoadCsvError } from './errors.ts'
import type { ReadLoadCsvResult } from './readLoadCsv.ts'

/** A load history on a regular UTC grid; NaN where nothing was measured. */
export type LoadSeries = {
  startMs: number
  slotMs: number
  loadKw: Float64Array
  temperatureC: Float64Array | undefined
  holiday: Uint8Array | undefined
}

export type SeriesGap = { fromMs: number; toMs: number; slots: number; filled: boolean }

export type ToRegularSeriesResult = {
  series: LoadSeries
  report: {
    rows: number
    nativeSlotMs: number
    slotMs: number
    duplicates: number
    duplicateRows: number[]
    missingValues: number
    gaps: SeriesGap[]
    filledSlots: number
    unfilledSlots: number
  }
}

const allowedSlotsMin = [5, 10, 15, 30, 60]
/** Gaps up to this long are filled by linear interpolation; longer ones stay NaN and their samples are skipped. */
const maxFilledGapMs = 2 * 3_600_000

/** Puts CSV rows on a regular grid (duplicates averaged, short gaps interpolated), then resamples to `slotMs` (mean down, linear up). */
export function toRegularSeries(csv: ReadLoadCsvResult, options: { slotMs?: number | undefined } = {}): ToRegularSeriesResult {
  const { timesMs, file } = csv
  const diffs: number[] = []
  for (let i = 1; i < timesMs.length; i++) {
    const d = (timesMs[i] ?? 0) - (timesMs[i - 1] ?? 0)
    if (d > 0) diffs.push(d)
  }
  diffs.sort((a, b) => a - b)
  const nativeSlotMs = diffs[Math.floor(diffs.length / 2)] ?? 0
  if (!allowedSlotsMin.some((m) => m * 60_000 === nativeSlotMs)) {
    throw new LoadCsvError({
      file,
      column: csv.timeColumn,
      problem: `the usual step between rows is ${nativeSlotMs / 60_000} min`,
      expected: `a resolution of ${allowedSlotsMin.join(', ')} min`,
    })
  }
  const first = timesMs[0] ?? 0
  const startMs = Math.floor(first / nativeSlotMs) * nativeSlotMs
  const count = Math.floor(((timesMs[timesMs.length - 1] ?? 0) - startMs) / nativeSlotMs) + 1
  const sum = new Float64Array(count)
  const hits = new Uint16Array(count)
  const tempSum = csv.temperatureC ? new Float64Array(count) : undefined
  const tempHits = csv.temperatureC ? new Uint16Array(count) : undefined
  const holiday = csv.holiday ? new Uint8Array(count) : undefined
  const seen = new Uint8Array(count)
  const duplicateRows: number[] = []
  let duplicates = 0
  for (let r = 0; r < timesMs.length; r++) {
    const index = Math.floor(((timesMs[r] ?? 0) - startMs) / nativeSlotMs)
    if (seen[index]) {
      duplicates++
      if (duplicateRows.length < 20) duplicateRows.push(csv.rows[r] ?? 0)
    }
    seen[index] = 1
    const value = csv.loadKw[r] ?? Number.NaN
    if (Number.isFinite(value)) {
      sum[index] = (sum[index] ?? 0) + value
      hits[index] = (hits[index] ?? 0) + 1
    }
    const t = csv.temperatureC?.[r]
    if (tempSum && tempHits && t !== undefined && Number.isFinite(t)) {
      tempSum[index] = (tempSum[index] ?? 0) + t
      tempHits[index] = (tempHits[index] ?? 0) + 1
    }
    if (holiday && csv.holiday?.[r]) holiday[index] = 1
  }
  const load = new Float64Array(count)
  for (let i = 0; i < count; i++) load[i] = hits[i] ? (sum[i] ?? 0) / (hits[i] ?? 1) : Number.NaN
  const temperature = tempSum && tempHits ? new Float64Array(count) : undefined
  if (temperature && tempSum && tempHits) for (let i = 0; i < count; i++) temperature[i] = tempHits[i] ? (tempSum[i] ?? 0) / (tempHits[i] ?? 1) : Number.NaN
  if (holiday) fillHolidayGaps(holiday, seen)

  const gaps: SeriesGap[] = []
  let filledSlots = 0
  let unfilledSlots = 0
  const maxFilled = Math.floor(maxFilledGapMs / nativeSlotMs)
  for (let i = 0; i < count; ) {
    if (!Number.isNaN(load[i] ?? 0)) {
      i++
      continue
    }
    let j = i
    while (j < count && Number.isNaN(load[j] ?? 0)) j++
    const slots = j - i
    const filled = i > 0 && j < count && slots <= maxFilled
    if (filled) {
      const a = load[i - 1] ?? 0
      const b = load[j] ?? 0
      for (let k = i; k < j; k++) load[k] = a + ((b - a) * (k - i + 1)) / (slots + 1)
      filledSlots += slots
    } else unfilledSlots += slots
    gaps.push({ fromMs: startMs + i * nativeSlotMs, toMs: startMs + j * nativeSlotMs, slots, filled })
    i = j
  }
  if (temperature) interpolateAll(temperature)

  const slotMs = options.slotMs ?? (nativeSlotMs < 15 * 60_000 ? 15 * 60_000 : nativeSlotMs)
  if (!allowedSlotsMin.some((m) => m * 60_000 === slotMs) || (slotMs > nativeSlotMs ? slotMs % nativeSlotMs : nativeSlotMs % slotMs) !== 0) {
    throw new LoadCsvError({ file, problem: `cannot resample ${nativeSlotMs / 60_000}-min data to ${slotMs / 60_000} min`, expected: 'a slot length that divides or is a multiple of the data resolution' })
  }
  const series = resample({ startMs, slotMs: nativeSlotMs, loadKw: load, temperatureC: temperature, holiday }, slotMs)
  return {
    series,
    report: { rows: timesMs.length, nativeSlotMs, slotMs, duplicates, duplicateRows, missingValues: csv.missingLoadRows.length, gaps, filledSlots, unfilledSlots },
  }
}

function fillHolidayGaps(holiday: Uint8Array, seen: Uint8Array): void {
  for (let i = 1; i < holiday.length; i++) if (!seen[i]) holiday[i] = holiday[i - 1] ?? 0
}

function interpolateAll(values: Float64Array): void {
  let last = -1
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i] ?? 0)) continue
    if (last < 0) values.fill(values[i] ?? 0, 0, i)
    else for (let k = last + 1; k < i; k++) values[k] = (values[last] ?? 0) + (((values[i] ?? 0) - (values[last] ?? 0)) * (k - last)) / (i - last)
    last = i
  }
  if (last >= 0) values.fill(values[last] ?? 0, last + 1)
}

function resample(series: LoadSeries, slotMs: number): LoadSeries {
  if (slotMs === series.slotMs) return series
  const n = series.loadKw.length
  if (slotMs > series.slotMs) {
    const ratio = slotMs / series.slotMs
    const startMs = Math.floor(series.startMs / slotMs) * slotMs
    const skip = (series.startMs - startMs) / series.slotMs
    const count = Math.ceil((n + skip) / ratio)
    const mean = (values: Float64Array): Float64Array => {
      const out = new Float64Array(count)
      for (let j = 0; j < count; j++) {
        let total = 0
        let hits = 0
        for (let k = 0; k < ratio; k++) {
          const v = values[j * ratio + k - skip]
          if (v !== undefined && !Number.isNaN(v)) {
            total += v
            hits++
          }
        }
        // A slot needs at least half of its samples; otherwise it is a gap.
        out[j] = hits * 2 >= ratio ? total / hits : Number.NaN
      }
      return out
    }
    let holiday: Uint8Array | undefined
    if (series.holiday) {
      holiday = new Uint8Array(count)
      for (let j = 0; j < count; j++) holiday[j] = series.holiday[Math.max(0, j * ratio - skip)] ?? 0
    }
    return { startMs, slotMs, loadKw: mean(series.loadKw), temperatureC: series.temperatureC ? mean(series.temperatureC) : undefined, holiday }
  }
  const ratio = series.slotMs / slotMs
  const count = (n - 1) * ratio + 1
  const linear = (values: Float64Array): Float64Array => {
    const out = new Float64Array(count)
    for (let j = 0; j < count; j++) {
      const i = Math.floor(j / ratio)
      const f = (j % ratio) / ratio
      const a = values[i] ?? Number.NaN
      out[j] = f === 0 ? a : a + ((values[i + 1] ?? Number.NaN) - a) * f
    }
    return out
  }
  let holiday: Uint8Array | undefined
  if (series.holiday) {
    holiday = new Uint8Array(count)
    for (let j = 0; j < count; j++) holiday[j] = series.holiday[Math.floor(j / ratio)] ?? 0
  }
  return { startMs: series.startMs, slotMs, loadKw: linear(series.loadKw), temperatureC: series.temperatureC ? linear(series.temperatureC) : undefined, holiday }
}
