import { BacktestError } from './BacktestError.ts'

/** One backtested date range and the simulator seeds it runs under (one backtest per seed). */
export type BacktestWindow = { fromMs: number; days: number; seeds: number[] }

const isoDate = /^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)?)?$/

/**
 * The windows of a multi-window backtest from a JSON file's text:
 * `[{ "from": "2013-01-14T13:00:00Z", "days": 2, "seeds": [1, 2] }, ...]`, or
 * `{ "seeds": [1, 2], "windows": [{ "from": ..., "days": 2 }, ...] }` where a window's own
 * `seeds` override the file's, and the file's override `defaultSeeds` (the CLI's --seeds).
 * Every error names the file and the JSON path of the value.
 */
export function parseBacktestWindows(file: string, text: string, defaultSeeds: number[]): BacktestWindow[] {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (cause) {
    throw new BacktestError(`${file}: not JSON: ${(cause as Error).message}`, { cause })
  }
  const fail = (path: string, message: string): never => {
    throw new BacktestError(`${file}: ${path}: ${message}`)
  }
  let list: unknown = json
  let fileSeeds = defaultSeeds
  if (json !== null && typeof json === 'object' && !Array.isArray(json)) {
    const o = json as Record<string, unknown>
    for (const key of Object.keys(o)) if (key !== 'windows' && key !== 'seeds') fail(key, `unknown key; expected windows and optionally seeds`)
    if (o.seeds !== undefined) fileSeeds = parseSeeds(o.seeds, 'seeds', fail)
    list = o.windows
    if (!Array.isArray(list)) fail('windows', `expected an array of { from, days, seeds? }, got ${describe(list)}`)
  } else if (!Array.isArray(json)) fail('(top level)', `expected an array of windows or { windows: [...] }, got ${describe(json)}`)
  const windows = list as unknown[]
  const prefix = Array.isArray(json) ? '' : 'windows'
  if (windows.length === 0) fail(prefix || '(top level)', 'expected at least one window')
  if (windows.length > 1000) fail(prefix || '(top level)', `expected at most 1000 windows, got ${windows.length}`)
  return windows.map((w, i) => {
    const at = `${prefix}[${i}]`
    if (w === null || typeof w !== 'object' || Array.isArray(w)) return fail(at, `expected { from, days, seeds? }, got ${describe(w)}`)
    const o = w as Record<string, unknown>
    for (const key of Object.keys(o)) if (key !== 'from' && key !== 'days' && key !== 'seeds') fail(`${at}.${key}`, 'unknown key; expected from, days and optionally seeds')
    const fromMs = typeof o.from === 'string' && isoDate.test(o.from) ? Date.parse(o.from) : NaN
    if (Number.isNaN(fromMs)) fail(`${at}.from`, `expected an ISO 8601 date such as 2013-01-14T13:00:00Z, got ${describe(o.from)}`)
    const days = o.days
    if (typeof days !== 'number' || !Number.isInteger(days) || days < 1 || days > 366) fail(`${at}.days`, `expected an integer from 1 to 366, got ${describe(days)}`)
    const seeds = o.seeds === undefined ? fileSeeds : parseSeeds(o.seeds, `${at}.seeds`, fail)
    return { fromMs, days: days as number, seeds }
  })
}

function parseSeeds(value: unknown, path: string, fail: (path: string, message: string) => never): number[] {
  if (!Array.isArray(value) || value.length === 0) return fail(path, `expected a non-empty array of seeds such as [1, 2, 3], got ${describe(value)}`)
  value.forEach((s, i) => {
    if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s > 2 ** 31 - 1) fail(`${path}[${i}]`, `expected an integer from 0 to 2147483647, got ${describe(s)}`)
  })
  if (new Set(value).size !== value.length) fail(path, `a seed is listed twice in ${JSON.stringify(value)}`)
  return value as number[]
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing'
  const text = JSON.stringify(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
