import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { BaseError } from '../../core/errors/BaseError.ts'
import { zoneOffsetMs } from './zoneOffset.ts'

const halfHourMs = 1_800_000
const dataZone = 'Australia/Melbourne'
const defaultCsv = fileURLToPath(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url))

export class LoadDataError extends BaseError {
  override name = 'LoadDataError' as const
}

/** Demand shape from vic-elec: value 0..1 (1 = the series' peak) per local half-hour slot. */
export type LoadShape = {
  /** Normalised demand at a site-local wall-clock time (ms since 1970 of the naive local time). */
  at(localNaiveMs: number): number
}

let cached: LoadShape | null = null

/**
 * Reads the Victoria demand series and indexes it by Melbourne wall-clock half hour, so a
 * site in any zone sees the demand of the same local time of day and calendar day.
 */
export function loadVicElecShape(csvPath = defaultCsv): LoadShape {
  if (cached && csvPath === defaultCsv) return cached
  const lines = readFileSync(csvPath, 'utf8').split('\n')
  const header = lines[0]?.split(',') ?? []
  const tCol = header.indexOf('timestamp')
  const lCol = header.indexOf('load_mw')
  if (tCol < 0 || lCol < 0) throw new LoadDataError(`${csvPath}: expected columns 'timestamp' and 'load_mw', got ${header.join(',')}`)
  const bySlot = new Map<number, number>()
  let peak = 0
  for (let row = 1; row < lines.length; row++) {
    const line = lines[row]
    if (!line) continue
    const cells = line.split(',')
    const utcMs = Date.parse(cells[tCol] ?? '')
    const load = Number(cells[lCol])
    if (!Number.isFinite(utcMs) || !Number.isFinite(load)) throw new LoadDataError(`${csvPath}: row ${row + 1}: expected an ISO timestamp and a number, got '${line}'`)
    const slot = Math.floor((utcMs + zoneOffsetMs(utcMs, dataZone)) / halfHourMs)
    if (!bySlot.has(slot)) bySlot.set(slot, load) // DST fall-back repeats an hour: keep the first
    peak = Math.max(peak, load)
  }
  const slots = [...bySlot.keys()].sort((a, b) => a - b)
  const first = slots[0]!
  const last = slots.at(-1)!
  const values = new Float64Array(last - first + 1)
  let previous = bySlot.get(first)! / peak
  for (let s = first; s <= last; s++) {
    const v = bySlot.get(s)
    previous = v === undefined ? previous : v / peak // DST spring-forward gap: hold the last value
    values[s - first] = previous
  }
  const firstYear = new Date(first * halfHourMs).getUTCFullYear()
  const years = new Date(last * halfHourMs).getUTCFullYear() - firstYear + 1
  const shape: LoadShape = {
    at(localNaiveMs) {
      // Map any year onto the data's years (2012..2014 map onto themselves).
      const date = new Date(localNaiveMs)
      const year = firstYear + ((((date.getUTCFullYear() - firstYear) % years) + years) % years)
      const mapped = Date.UTC(year, date.getUTCMonth(), date.getUTCDate(), date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds())
      const x = mapped / halfHourMs - first
      const i = Math.min(values.length - 2, Math.max(0, Math.floor(x)))
      const frac = Math.min(1, Math.max(0, x - i))
      return values[i]! * (1 - frac) + values[i + 1]! * frac
    },
  }
  if (csvPath === defaultCsv) cached = shape
  return shape
}
