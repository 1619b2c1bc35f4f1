// `gridmesh forecast` end to end on small synthetic histories: training in the worker thread, saving, predicting,
// evaluating, and bad input that must leave a previous model untouched.
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { run } from '../../core/forecast/cli.ts'
import { syntheticLoadCsv } from '../fixtures/forecast/syntheticLoad.ts'

const root = mkdtempSync(join(tmpdir(), 'gridmesh-forecast-'))
const modelDir = join(root, 'model')
const goodCsv = join(root, 'site.csv')

function fingerprint(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, createHash('sha256').update(readFileSync(join(dir, name))).digest('hex')]))
}

function captureStdout(): { text: () => string } {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  return { text: () => out }
}

describe('gridmesh forecast', () => {
  beforeAll(async () => {
    writeFileSync(goodCsv, syntheticLoadCsv({ days: 42, slotMinutes: 60 }))
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
    expect(await run(['train', '--csv', goodCsv, '--out', modelDir, '--epochs', '2', '--timezone', 'UTC'])).toBe(0)
    vi.restoreAllMocks()
  }, 60_000)

  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('trains in a worker and saves a tfjs model with its metadata', () => {
    expect(readdirSync(modelDir).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin'])
    const metadata = JSON.parse(readFileSync(join(modelDir, 'metadata.json'), 'utf8'))
    expect(metadata.training.source).toBe(goodCsv)
    expect(metadata.versions.tfjs).toMatch(/^4\./)
    expect(metadata.timeZone).toBe('UTC')
  })

  it('predicts the next 24 hours from the end of the history', async () => {
    const out = captureStdout()
    expect(await run(['predict', '--csv', goodCsv, '--model', modelDir, '--json'])).toBe(0)
    const result = JSON.parse(out.text())
    expect(result.forecast).toHaveLength(24)
    expect(result.forecast[0].time).toBe(new Date(Date.parse('2024-01-01T00:00:00Z') + 42 * 86_400_000).toISOString())
    expect(result.forecast.every((p: { loadKw: number }) => p.loadKw > 0)).toBe(true)
  })

  it.each([
    ['non-monotonic', 'timestamp,load_kw\n2024-01-01T00:00:00Z,1\n2024-01-01T02:00:00Z,1\n2024-01-01T01:00:00Z,1\n', "row 4: column 'timestamp': time goes backwards"],
    ['empty', '', 'the file is empty'],
    ['NaN-filled', 'timestamp,load_kw\n2024-01-01T00:00:00Z,NaN\n2024-01-01T01:00:00Z,NaN\n2024-01-01T02:00:00Z,5\n', "row 2: column 'load_kw': mostly empty: 2 of 3"],
    ['wrong unit', 'timestamp,load_kw\n2024-01-01T00:00:00Z,1 MW\n2024-01-01T01:00:00Z,1 MW\n', "row 2: column 'load_kw': wrong unit: '1 MW' is not in kW"],
    ['too short', syntheticLoadCsv({ days: 10, slotMinutes: 60 }), 'row 241: too short: rows 2-241 cover 10.0 days'],
  ])('rejects a %s CSV with the row and problem, and keeps the previous model', async (name, text, message) => {
    const before = fingerprint(modelDir)
    const file = join(root, `${name.replace(/\W/g, '-')}.csv`)
    writeFileSync(file, text)
    captureStdout()
    await expect(run(['train', '--csv', file, '--out', modelDir, '--timezone', 'UTC'])).rejects.toThrow(message)
    expect(fingerprint(modelDir)).toEqual(before)
  })

  it('exits with 2 on a usage error', async () => {
    captureStdout()
    expect(await run(['eval', '--csv', goodCsv])).toBe(2)
    expect(await run(['train', '--csv', goodCsv, '--unit', 'GW'])).toBe(2)
  })

  it('forecasts PV from clear sky scaled by measured production, and rejects an impossible latitude', async () => {
    const out = captureStdout()
    const args = ['pv', '--lat', '52.5', '--lon', '13.4', '--tilt', '30', '--azimuth', '180', '--peak-kw', '10', '--from', '2024-06-21T00:00:00Z', '--horizon', '24h', '--slot', '60m', '--json']
    expect(await run(args)).toBe(0)
    const result = JSON.parse(out.text())
    expect(result.forecast).toHaveLength(24)
    expect(result.forecast[0].powerKw).toBe(0)
    expect(Math.max(...result.forecast.map((p: { powerKw: number }) => p.powerKw))).toBeGreaterThan(5)
    expect(await run(['pv', '--lat', '95', '--lon', '0', '--tilt', '0', '--azimuth', '180', '--peak-kw', '1'])).toBe(2)
  })

  it('evaluates model and baselines on held-out days, per lead time and overall', async () => {
    const out = captureStdout()
    expect(await run(['eval', '--csv', goodCsv, '--test-days', '7', '--epochs', '2', '--timezone', 'UTC', '--json'])).toBe(0)
    const report = JSON.parse(out.text())
    expect(report.testWindow.days).toBe(7)
    // Training never saw the test window.
    expect(Date.parse(report.training.validation.toIso)).toBeLessThanOrEqual(Date.parse(report.testWindow.fromIso))
    for (const method of ['model', 'seasonalNaiveDay', 'seasonalNaiveWeek', 'holtWinters']) {
      expect(report.dayAhead.perLead[method]).toHaveLength(24)
      expect(report.dayAhead.overall[method].count).toBe(7 * 24)
      expect(report.rollingOneStep.overall[method].count).toBe(7 * 24)
    }
  }, 60_000)

  it('gives the same figures for the same seed in two eval runs, and says the seed', async () => {
    const evaluate = async (seed: string) => {
      const out = captureStdout()
      expect(await run(['eval', '--csv', goodCsv, '--test-days', '7', '--epochs', '3', '--timezone', 'UTC', '--seed', seed, '--json'])).toBe(0)
      const report = JSON.parse(out.text())
      return { seed: report.training.seed, dayAhead: report.dayAhead.overall, rolling: report.rollingOneStep.overall, validation: report.training.validation }
    }
    const first = await evaluate('3')
    expect(first.seed).toBe(3)
    expect(await evaluate('3')).toEqual(first)
    expect((await evaluate('4')).dayAhead.model).not.toEqual(first.dayAhead.model)
    expect(await run(['eval', '--csv', goodCsv, '--test-days', '7', '--seed', 'x'])).toBe(2)
  }, 120_000)

  it('forecasts a public holiday ahead as one when --holidays names it', async () => {
    // vic-elec's 10 days before Christmas 2014, as a meter export would give them: no holiday column.
    const rows = readFileSync(new URL('../../models/data/vic-elec-2012-2014.csv', import.meta.url), 'utf8').trim().split('\n').slice(1)
    const from = Date.parse('2014-12-14T13:00:00Z')
    const to = Date.parse('2014-12-24T13:00:00Z') // local midnight starting 25 Dec
    const kept = rows.map((r) => r.split(',')).filter((c) => Date.parse(c[0]!) >= from && Date.parse(c[0]!) < to)
    const file = join(root, 'before-christmas.csv')
    writeFileSync(file, `timestamp,load_mw\n${kept.map((c) => `${c[0]},${c[1]}`).join('\n')}\n`)
    const common = ['predict', '--csv', file, '--unit', 'MW', '--timezone', 'Australia/Melbourne', '--model', fileURLToPath(new URL('../../models/default', import.meta.url)), '--json']
    let out = captureStdout()
    expect(await run(common)).toBe(0)
    const normal = JSON.parse(out.text()).forecast.map((p: { loadKw: number }) => p.loadKw)
    vi.restoreAllMocks()
    out = captureStdout()
    expect(await run([...common, '--holidays', '2014-12-25,2014-12-26'])).toBe(0)
    const holiday = JSON.parse(out.text()).forecast.map((p: { loadKw: number }) => p.loadKw)
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length
    const actual = mean(rows.map((r) => r.split(',')).filter((c) => Date.parse(c[0]!) >= to && Date.parse(c[0]!) < to + 86_400_000).map((c) => Number(c[1]) * 1000))
    // Christmas Day's demand is well below a normal Thursday's; flagged, the forecast moves towards it.
    expect(mean(holiday)).toBeLessThan(0.97 * mean(normal))
    expect(Math.abs(mean(holiday) - actual)).toBeLessThan(Math.abs(mean(normal) - actual))
  })

  it('rejects a --holidays entry that is not a date, naming it', async () => {
    let err = ''
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true)
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk)
      return true
    })
    expect(await run(['predict', '--csv', goodCsv, '--model', modelDir, '--holidays', '2014-12-25,25/12/2014'])).toBe(2)
    expect(err).toContain("--holidays: '25/12/2014' is not a date; expected local dates YYYY-MM-DD separated by commas")
    expect(await run(['predict', '--csv', goodCsv, '--model', modelDir, '--holidays', '2014-02-30'])).toBe(2)
    expect(err).toContain("--holidays: '2014-02-30' is not a date")
  })
})
