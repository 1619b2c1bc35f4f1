import { describe, expect, it } from 'vitest'
import { parseBacktestWindows } from './parseBacktestWindows.ts'

const parse = (json: unknown, seeds = [1]) => parseBacktestWindows('w.json', typeof json === 'string' ? json : JSON.stringify(json), seeds)

describe('parseBacktestWindows', () => {
  it('reads a list or { seeds, windows }: a window\'s seeds override the file\'s, the file\'s override the default', () => {
    expect(parse([{ from: '2013-02-03T13:00:00Z', days: 2 }], [4, 5])).toEqual([{ fromMs: Date.parse('2013-02-03T13:00:00Z'), days: 2, seeds: [4, 5] }])
    expect(parse({ seeds: [1, 2], windows: [{ from: '2013-02-03T13:00:00Z', days: 2 }, { from: '2013-05-05T14:00:00Z', days: 1, seeds: [7] }] }, [9])).toEqual([
      { fromMs: Date.parse('2013-02-03T13:00:00Z'), days: 2, seeds: [1, 2] },
      { fromMs: Date.parse('2013-05-05T14:00:00Z'), days: 1, seeds: [7] },
    ])
  })

  it('refuses what is not a window list, naming the file and the JSON path', () => {
    const cases: [unknown, RegExp][] = [
      ['{"windows": [', /^w\.json: not JSON: /],
      [42, /^w\.json: \(top level\): expected an array of windows or \{ windows: \[\.\.\.\] \}, got 42/],
      [[], /^w\.json: \(top level\): expected at least one window/],
      [{ windows: {} }, /^w\.json: windows: expected an array/],
      [{ windows: [], extra: 1 }, /^w\.json: extra: unknown key/],
      [[{ from: '2013-02-03T13:00:00Z', days: 2 }, 'x'], /^w\.json: \[1\]: expected \{ from, days, seeds\? \}, got "x"/],
      [[{ from: 'yesterday', days: 2 }], /^w\.json: \[0\]\.from: expected an ISO 8601 date such as 2013-01-14T13:00:00Z, got "yesterday"/],
      [[{ days: 2 }], /^w\.json: \[0\]\.from: expected an ISO 8601 date .*got nothing/],
      [[{ from: '2013-02-03', days: 0 }], /^w\.json: \[0\]\.days: expected an integer from 1 to 366, got 0/],
      [[{ from: '2013-02-03', days: 1.5 }], /^w\.json: \[0\]\.days: expected an integer from 1 to 366, got 1\.5/],
      [[{ from: '2013-02-03', days: 2, seed: 1 }], /^w\.json: \[0\]\.seed: unknown key; expected from, days and optionally seeds/],
      [{ windows: [{ from: '2013-02-03', days: 2, seeds: [1, -1] }] }, /^w\.json: windows\[0\]\.seeds\[1\]: expected an integer from 0 to 2147483647, got -1/],
      [{ windows: [{ from: '2013-02-03', days: 2, seeds: [] }] }, /^w\.json: windows\[0\]\.seeds: expected a non-empty array/],
      [{ seeds: [3, 3], windows: [{ from: '2013-02-03', days: 2 }] }, /^w\.json: seeds: a seed is listed twice in \[3,3\]/],
    ]
    for (const [json, message] of cases) expect(() => parse(json), JSON.stringify(json)).toThrow(message)
  })
})
