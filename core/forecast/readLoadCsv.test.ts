import { describe, expect, it } from 'vitest'
import { readLoadCsv } from './readLoadCsv.ts'
import { LoadCsvError } from './errors.ts'

const read = (text: string, options: Partial<Parameters<typeof readLoadCsv>[0]> = {}) => readLoadCsv({ file: 'site.csv', text, ...options })
const rows = (values: string[], header = 'timestamp,load_kw') => `${header}\n${values.map((v, i) => `2024-03-01T${String(i).padStart(2, '0')}:00:00Z,${v}`).join('\n')}\n`

describe('readLoadCsv', () => {
  it('reads timestamps as UTC ms and converts MW to kW, taking the unit from the column name', () => {
    const csv = read('timestamp,load_mw,temperature_c,holiday\n2014-01-01T00:00:00Z,4.5,20.5,1\n2014-01-01T00:30:00Z,4.25,NA,0\n')
    expect(csv.unit).toBe('MW')
    expect(Array.from(csv.timesMs)).toEqual([Date.parse('2014-01-01T00:00:00Z'), Date.parse('2014-01-01T00:30:00Z')])
    expect(Array.from(csv.loadKw)).toEqual([4500, 4250])
    expect(csv.temperatureC?.[0]).toBe(20.5)
    expect(Number.isNaN(csv.temperatureC?.[1] ?? 0)).toBe(true)
    expect(Array.from(csv.holiday ?? [])).toEqual([1, 0])
  })

  it('reads zone-less timestamps in the given time zone', () => {
    const csv = read('time;demand_kw\n2024-07-01 12:00;3\n2024-07-01 12:15;4\n', { timeZone: 'Europe/Berlin' })
    expect(csv.timesMs[0]).toBe(Date.parse('2024-07-01T10:00:00Z'))
  })

  it('rejects an empty file and a header without rows', () => {
    expect(() => read('')).toThrow('site.csv: the file is empty; expected a header line')
    expect(() => read('timestamp,load_kw\n')).toThrow('site.csv: row 1: the file has a header but no data rows')
  })

  it('names the row where time goes backwards', () => {
    const text = 'timestamp,load_kw\n2024-01-01T00:00:00Z,1\n2024-01-01T01:00:00Z,1\n2024-01-01T00:30:00Z,1\n'
    expect(() => read(text)).toThrow(/site\.csv: row 4: column 'timestamp': time goes backwards: 2024-01-01T00:30:00Z is before row 3's/)
  })

  it('rejects wrong units: a column named in MW read as kW, an energy column, a cell with another unit', () => {
    expect(() => read(rows(['1', '2'], 'timestamp,load_mw'), { unit: 'kW' })).toThrow("site.csv: row 1: column 'load_mw': wrong unit: the column name says MW but --unit is kW")
    expect(() => read(rows(['1', '2'], 'timestamp,energy_kwh'), { loadColumn: 'energy_kwh' })).toThrow(/column 'energy_kwh': the load column is named as an energy/)
    expect(() => read(rows(['1', '2 MW']))).toThrow("site.csv: row 3: column 'load_kw': wrong unit: '2 MW' is not in kW")
  })

  it('rejects loads that would be implausibly large in the declared unit', () => {
    expect(() => read(rows(['250000000', '260000000', '240000000'], 'timestamp,demand'), { unit: 'MW' })).toThrow(/wrong unit: the median load would be .* GW with MW/)
  })

  it('rejects a mostly NaN load column and names the first empty row', () => {
    expect(() => read(rows(['1', 'NaN', 'NaN', '', '4']))).toThrow("site.csv: row 3: column 'load_kw': mostly empty: 3 of 5 load values are missing or NaN (first at row 3)")
  })

  it('rejects text, negative loads and unreadable timestamps with the row and column', () => {
    expect(() => read(rows(['1', 'abc']))).toThrow("site.csv: row 3: column 'load_kw': 'abc' is not a number")
    expect(() => read(rows(['1', '-3']))).toThrow("site.csv: row 3: column 'load_kw': load -3 is negative")
    expect(() => read('timestamp,load_kw\nyesterday,1\n')).toThrow("site.csv: row 2: column 'timestamp': cannot read 'yesterday' as a time")
  })

  it('names the missing column and lists the ones there are', () => {
    const error = (() => {
      try {
        read(rows(['1', '2']), { loadColumn: 'power' })
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(LoadCsvError)
    expect((error as LoadCsvError).message).toContain("site.csv: row 1: no load column 'power' (from --load-column) in the header; expected one of: timestamp, load_kw")
  })

  it('keeps single missing values as NaN and reports their rows', () => {
    const csv = read(rows(['1', '', '3', '4']))
    expect(csv.missingLoadRows).toEqual([3])
    expect(Number.isNaN(csv.loadKw[1] ?? 0)).toBe(true)
  })

  it('names the row of an absurd or infinite load (1e308 kW, 1e999, Infinity)', () => {
    expect(() => read(rows(['1', '2', '1e308', '3']))).toThrow("site.csv: row 4: column 'load_kw': load 1e308 kW is implausible for one site; expected at most 1e8 kW (100 GW)")
    expect(() => read(rows(['1', '1e999']))).toThrow("site.csv: row 3: column 'load_kw': '1e999' is not a finite number")
    expect(() => read(rows(['1', 'Infinity']))).toThrow("site.csv: row 3: column 'load_kw': 'Infinity' is not a number")
    expect(() => read(rows(['1', '-Infinity']))).toThrow("site.csv: row 3: column 'load_kw': '-Infinity' is not a number")
  })

  it('names a gap of a year by its rows and its from/to times', () => {
    const text = 'timestamp,load_kw\n2023-01-01T00:00:00Z,1\n2023-01-01T00:15:00Z,1\n2024-01-01T00:30:00Z,1\n2024-01-01T00:45:00Z,1\n'
    expect(() => read(text)).toThrow(
      "site.csv: row 4: column 'timestamp': a gap of 365.0 days between row 3 (2023-01-01T00:15:00.000Z) and row 4 (2024-01-01T00:30:00.000Z); expected gaps of at most 60 days (split the file, or drop the rows before the gap)",
    )
  })

  it('refuses a history spanning more than 20 years, which would not fit in memory on a regular grid', () => {
    const lines = ['timestamp,load_kw']
    for (let year = 1990; year <= 2024; year++) for (const day of ['01-01', '02-15', '04-01', '05-15', '07-01', '08-15', '10-01', '11-15']) lines.push(`${year}-${day}T00:00:00Z,1`)
    expect(() => read(`${lines.join('\n')}\n`)).toThrow(/^site\.csv: row \d+: column 'timestamp': rows 2-\d+ span more than 20 years \(1990-01-01T00:00:00\.000Z to 2010-02-15T00:00:00\.000Z\); expected a history of at most 20 years/)
  })
})

