import { readFileSync } from 'node:fs'
import { LoadCsvError } from './errors.ts'
import { createCalendar } from './createCalendar.ts'

export type PowerUnit = 'W' | 'kW' | 'MW'

export type ReadLoadCsvParameters = {
  /** Path of the file, also used in messages. */
  file: string
  /** The file's text; read from `file` when absent. */
  text?: string | undefined
  timeColumn?: string | undefined
  loadColumn?: string | undefined
  /** Column of air temperature in degrees C; `false` ignores it. Default: temperature_c / temperature / temp when present. */
  temperatureColumn?: string | false | undefined
  /** Column of a 0/1 public-holiday flag; `false` ignores it. Default: holiday when present. */
  holidayColumn?: string | false | undefined
  /** Unit of the load column. Default: from the column name (load_mw, demand_kW, ...), else kW. */
  unit?: PowerUnit | undefined
  /** Zone of timestamps written without an offset (2014-01-01 00:30); ISO timestamps with Z or an offset ignore it. */
  timeZone?: string | undefined
}

export type ReadLoadCsvResult = {
  file: string
  timeColumn: string
  loadColumn: string
  temperatureColumn: string | undefined
  holidayColumn: string | undefined
  unit: PowerUnit
  /** One entry per data row, in file order (strictly increasing or equal for duplicates). */
  timesMs: Float64Array
  loadKw: Float64Array
  temperatureC: Float64Array | undefined
  holiday: Uint8Array | undefined
  /** File row (1-based line number, header = 1) of each entry. */
  rows: Int32Array
  missingLoadRows: number[]
  notes: string[]
}

const unitFactorToKw: Record<PowerUnit, number> = { W: 0.001, kW: 1, MW: 1000 }
/** 100 GW: more than any single site or grid draws; a larger value is a typo or garbage, not a load. */
const maxLoadKw = 1e8
const dayMs = 86_400_000
/** Longer gaps leave the lag features nothing to learn from across them; the rows before are better dropped. */
const maxGapMs = 60 * dayMs
/** The regular grid of toRegularSeries costs ~30 bytes a slot: 20 years of 1-min slots is ~300 MB. */
const maxSpanMs = 20 * 365.25 * dayMs
const missingCell = /^(|nan|na|n\/a|null|none|-)$/i
const energyUnit = /^(wh|kwh|mwh|gwh)$/i

function parseUnit(text: string): PowerUnit | 'energy' | undefined {
  const lower = text.toLowerCase()
  if (energyUnit.test(lower)) return 'energy'
  if (lower === 'w') return 'W'
  if (lower === 'kw') return 'kW'
  if (lower === 'mw') return 'MW'
  return undefined
}

function unitFromColumnName(name: string): PowerUnit | 'energy' | undefined {
  const match = /(?:[_\s(\[]|^)(w|kw|mw|wh|kwh|mwh|gwh)[)\]]?$/i.exec(name.trim())
  return match?.[1] === undefined ? undefined : parseUnit(match[1])
}

function splitLine(line: string, delimiter: string): string[] {
  if (!line.includes('"')) return line.split(delimiter).map((cell) => cell.trim())
  const cells: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < line.length; i++) {
    const char = line[i]
    if (char === '"') {
      if (quoted && line[i + 1] === '"') {
        cell += '"'
        i++
      } else quoted = !quoted
    } else if (char === delimiter && !quoted) {
      cells.push(cell.trim())
      cell = ''
    } else cell += char
  }
  cells.push(cell.trim())
  return cells
}

function pickColumn(header: string[], wanted: string | undefined, candidates: RegExp, fallbackIndex: number | undefined, file: string, role: string, flag: string): number {
  if (wanted !== undefined) {
    const index = header.findIndex((name) => name === wanted) >= 0 ? header.findIndex((name) => name === wanted) : header.findIndex((name) => name.toLowerCase() === wanted.toLowerCase())
    if (index < 0) throw new LoadCsvError({ file, row: 1, problem: `no ${role} column '${wanted}' (from ${flag}) in the header`, expected: `one of: ${header.join(', ')}` })
    return index
  }
  const index = header.findIndex((name) => candidates.test(name))
  if (index >= 0) return index
  if (fallbackIndex !== undefined && fallbackIndex < header.length) return fallbackIndex
  throw new LoadCsvError({ file, row: 1, problem: `cannot tell which column is the ${role}`, expected: `${flag} naming one of: ${header.join(', ')}` })
}

/** Reads and validates a load history CSV (timestamp, load, optional temperature and holiday columns); loads come back in kW. */
export function readLoadCsv(parameters: ReadLoadCsvParameters): ReadLoadCsvResult {
  const { file } = parameters
  let text: string
  try {
    text = parameters.text ?? readFileSync(file, 'utf8')
  } catch (error) {
    throw new LoadCsvError({ file, problem: 'cannot read the file', expected: 'a readable CSV file', metaMessages: [String((error as Error).message)] })
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  while (lines.length > 0 && lines[lines.length - 1]?.trim() === '') lines.pop()
  if (lines.length === 0) throw new LoadCsvError({ file, problem: 'the file is empty', expected: 'a header line (e.g. timestamp,load_kw) and at least two data rows' })
  const headerLine = lines[0] ?? ''
  const delimiter = !headerLine.includes(',') && headerLine.includes(';') ? ';' : ','
  const header = splitLine(headerLine, delimiter)
  if (lines.length === 1) throw new LoadCsvError({ file, row: 1, problem: 'the file has a header but no data rows', expected: 'at least two data rows' })

  const timeIndex = pickColumn(header, parameters.timeColumn, /^(timestamp|time|datetime|date_time|ts|date)$/i, 0, file, 'timestamp', '--time-column')
  const loadIndex = pickColumn(header, parameters.loadColumn, /(load|demand|consumption|power)/i, timeIndex === 0 ? 1 : 0, file, 'load', '--load-column')
  const optionalColumn = (wanted: string | false | undefined, candidates: RegExp, role: string, flag: string): number | undefined => {
    if (wanted === false) return undefined
    if (wanted === undefined) {
      const index = header.findIndex((name) => candidates.test(name))
      return index >= 0 ? index : undefined
    }
    return pickColumn(header, wanted, candidates, undefined, file, role, flag)
  }
  const temperatureIndex = optionalColumn(parameters.temperatureColumn, /^(temperature_c|temperature|temp|temp_c|air_temperature)$/i, 'temperature', '--temperature-column')
  const holidayIndex = optionalColumn(parameters.holidayColumn, /^(holiday|is_holiday|public_holiday)$/i, 'holiday', '--holiday-column')
  const loadColumn = header[loadIndex] ?? ''
  const timeColumn = header[timeIndex] ?? ''

  const nameUnit = unitFromColumnName(loadColumn)
  if (nameUnit === 'energy') {
    throw new LoadCsvError({ file, row: 1, column: loadColumn, problem: 'the load column is named as an energy (Wh, kWh, MWh)', expected: 'average power per interval in W, kW or MW (convert: kW = kWh per interval / interval hours)' })
  }
  if (nameUnit !== undefined && parameters.unit !== undefined && nameUnit !== parameters.unit) {
    throw new LoadCsvError({ file, row: 1, column: loadColumn, problem: `wrong unit: the column name says ${nameUnit} but --unit is ${parameters.unit}`, expected: `--unit ${nameUnit}, or a --load-column whose values are in ${parameters.unit}` })
  }
  const notes: string[] = []
  const unit: PowerUnit = parameters.unit ?? nameUnit ?? 'kW'
  if (parameters.unit === undefined && nameUnit === undefined) notes.push(`unit of '${loadColumn}' not given and not in its name; assuming kW (use --unit)`)
  const factor = unitFactorToKw[unit]
  const calendar = parameters.timeZone === undefined ? undefined : createCalendar(parameters.timeZone)

  const count = lines.length - 1
  const timesMs = new Float64Array(count)
  const loadKw = new Float64Array(count)
  const temperatureC = temperatureIndex === undefined ? undefined : new Float64Array(count)
  const holiday = holidayIndex === undefined ? undefined : new Uint8Array(count)
  const rows = new Int32Array(count)
  const missingLoadRows: number[] = []
  let n = 0
  let naiveTimes = false
  let absurdRow: { row: number; text: string } | undefined
  for (let line = 1; line < lines.length; line++) {
    const raw = lines[line] ?? ''
    const row = line + 1
    if (raw.trim() === '') continue
    const cells = splitLine(raw, delimiter)
    const timeText = cells[timeIndex]
    if (timeText === undefined || cells.length < header.length) {
      throw new LoadCsvError({ file, row, problem: `${cells.length} cells but the header has ${header.length}`, expected: `${header.length} ${delimiter === ',' ? 'comma' : 'semicolon'}-separated cells` })
    }
    const timeMs = parseTimestamp(timeText, calendar)
    if (timeMs === undefined) {
      throw new LoadCsvError({ file, row, column: timeColumn, problem: `cannot read '${timeText}' as a time`, expected: 'ISO 8601 (2014-01-01T00:30:00Z, or without zone plus --timezone) or Unix seconds/milliseconds' })
    }
    if (timeMs.naive) naiveTimes = true
    if (n > 0 && timeMs.ms - (timesMs[n - 1] ?? 0) > maxGapMs) {
      const fromMs = timesMs[n - 1] ?? 0
      throw new LoadCsvError({
        file,
        row,
        column: timeColumn,
        problem: `a gap of ${((timeMs.ms - fromMs) / dayMs).toFixed(1)} days between row ${rows[n - 1]} (${new Date(fromMs).toISOString()}) and row ${row} (${new Date(timeMs.ms).toISOString()})`,
        expected: `gaps of at most ${maxGapMs / dayMs} days (split the file, or drop the rows before the gap)`,
      })
    }
    if (n > 0 && timeMs.ms - (timesMs[0] ?? 0) > maxSpanMs) {
      throw new LoadCsvError({
        file,
        row,
        column: timeColumn,
        problem: `rows ${rows[0]}-${row} span more than 20 years (${new Date(timesMs[0] ?? 0).toISOString()} to ${new Date(timeMs.ms).toISOString()})`,
        expected: 'a history of at most 20 years (drop the oldest rows)',
      })
    }
    if (n > 0 && timeMs.ms < (timesMs[n - 1] ?? 0)) {
      throw new LoadCsvError({
        file,
        row,
        column: timeColumn,
        problem: `time goes backwards: ${timeText} is before row ${rows[n - 1]}'s ${new Date(timesMs[n - 1] ?? 0).toISOString()}`,
        expected: 'rows in increasing time order (sort the file by time)',
      })
    }
    const loadText = cells[loadIndex] ?? ''
    let value: number
    if (missingCell.test(loadText)) {
      value = Number.NaN
      missingLoadRows.push(row)
    } else {
      const match = /^([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]+)?$/.exec(loadText)
      if (!match?.[1]) throw new LoadCsvError({ file, row, column: loadColumn, problem: `'${loadText}' is not a number`, expected: `a load in ${unit}` })
      value = Number(match[1])
      if (!Number.isFinite(value)) throw new LoadCsvError({ file, row, column: loadColumn, problem: `'${loadText}' is not a finite number`, expected: `a load in ${unit}` })
      if (match[2] !== undefined) {
        const cellUnit = parseUnit(match[2])
        if (cellUnit === 'energy') throw new LoadCsvError({ file, row, column: loadColumn, problem: `wrong unit: '${loadText}' is an energy`, expected: `average power in ${unit}` })
        if (cellUnit !== unit) throw new LoadCsvError({ file, row, column: loadColumn, problem: `wrong unit: '${loadText}' is not in ${unit}`, expected: `values in ${unit} (or --unit ${cellUnit ?? '?'})` })
      }
      if (value < 0) throw new LoadCsvError({ file, row, column: loadColumn, problem: `load ${loadText} is negative`, expected: 'load >= 0 (site consumption; export belongs in a grid column, not the load)' })
      // Named after the loop: a whole column in the wrong unit gets the median check's better hint first.
      if (value * factor > maxLoadKw && absurdRow === undefined) absurdRow = { row, text: loadText }
    }
    timesMs[n] = timeMs.ms
    loadKw[n] = value * factor
    rows[n] = row
    if (temperatureC && temperatureIndex !== undefined) {
      const cell = cells[temperatureIndex] ?? ''
      const t = missingCell.test(cell) ? Number.NaN : Number(cell)
      if (!missingCell.test(cell) && (!Number.isFinite(t) || t < -80 || t > 70)) {
        throw new LoadCsvError({ file, row, column: header[temperatureIndex], problem: `'${cell}' is not a temperature in degrees C`, expected: 'a number between -80 and 70' })
      }
      temperatureC[n] = t
    }
    if (holiday && holidayIndex !== undefined) {
      const cell = (cells[holidayIndex] ?? '').toLowerCase()
      holiday[n] = cell === '1' || cell === 'true' || cell === 'yes' ? 1 : 0
    }
    n++
  }
  if (n < 2) throw new LoadCsvError({ file, problem: `too short: ${n} data row(s)`, expected: 'at least two data rows' })
  if (naiveTimes && calendar === undefined) notes.push(`timestamps have no zone; read as UTC (pass --timezone to read them as local time)`)
  if (missingLoadRows.length * 2 > n) {
    throw new LoadCsvError({
      file,
      row: missingLoadRows[0],
      column: loadColumn,
      problem: `mostly empty: ${missingLoadRows.length} of ${n} load values are missing or NaN (first at row ${missingLoadRows[0]})`,
      expected: 'at least half of the rows with a load value',
    })
  }
  const present = Array.from(loadKw.subarray(0, n)).filter((v) => Number.isFinite(v)).sort((a, b) => a - b)
  const medianKw = present[Math.floor(present.length / 2)] ?? 0
  // A median above 100 GW is no single site or grid: the numbers are almost surely in a smaller unit than declared.
  if (medianKw > 1e8) {
    throw new LoadCsvError({
      file,
      column: loadColumn,
      problem: `wrong unit: the median load would be ${(medianKw / 1e6).toFixed(0)} GW with ${unit}`,
      expected: `a plausible load; pass --unit ${unit === 'MW' ? 'kW' : 'W'} if the values are in ${unit === 'MW' ? 'kW' : 'W'}`,
    })
  }
  if (absurdRow) {
    throw new LoadCsvError({ file, row: absurdRow.row, column: loadColumn, problem: `load ${absurdRow.text} ${unit} is implausible for one site`, expected: 'at most 1e8 kW (100 GW)' })
  }
  return {
    file,
    timeColumn,
    loadColumn,
    temperatureColumn: temperatureIndex === undefined ? undefined : header[temperatureIndex],
    holidayColumn: holidayIndex === undefined ? undefined : header[holidayIndex],
    unit,
    timesMs: timesMs.slice(0, n),
    loadKw: loadKw.slice(0, n),
    temperatureC: temperatureC?.slice(0, n),
    holiday: holiday?.slice(0, n),
    rows: rows.slice(0, n),
    missingLoadRows,
    notes,
  }
}

function parseTimestamp(text: string, calendar: ReturnType<typeof createCalendar> | undefined): { ms: number; naive: boolean } | undefined {
  const trimmed = text.trim()
  if (/^\d{9,13}(\.\d+)?$/.test(trimmed)) {
    const value = Number(trimmed)
    return { ms: value > 1e11 ? value : value * 1000, naive: false }
  }
  const match = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i.exec(trimmed)
  if (!match) return undefined
  const [, year, month, day, hour, minute, second, zone] = match
  const localMs = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour ?? 0), Number(minute ?? 0), Number(second ?? 0))
  if (Number.isNaN(localMs) || Number(month) > 12 || Number(day) > 31 || Number(hour ?? 0) > 24 || Number(minute ?? 0) > 59) return undefined
  if (zone === undefined) return { ms: calendar ? calendar.localToUtcMs(localMs) : localMs, naive: true }
  if (zone.toUpperCase() === 'Z') return { ms: localMs, naive: false }
  const sign = zone.startsWith('-') ? -1 : 1
  const digits = zone.slice(1).replace(':', '')
  const offsetMs = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000
  return { ms: localMs - offsetMs, naive: false }
}
