// `gridmesh forecast eval --cv` end to end on a small synthetic history: the folds, their JSON and table,
// and the same figures from two runs with one seed.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { run } from '../../core/forecast/cli.ts'
import { syntheticLoadCsv } from '../fixtures/forecast/syntheticLoad.ts'

const root = mkdtempSync(join(tmpdir(), 'gridmesh-forecast-cv-'))
const csv = join(root, 'site.csv')
// 2024-01-01 .. 2024-04-29: with 55 days minimum, monthly folds start on March 1 and April 1.
writeFileSync(csv, syntheticLoadCsv({ startIso: '2024-01-01T00:00:00Z', days: 120, slotMinutes: 60, noisePct: 3 }))

function capture(): { stdout: () => string; stderr: () => string } {
  let out = ''
  let err = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk)
    return true
  })
  return { stdout: () => out, stderr: () => err }
}

const args = ['eval', '--csv', csv, '--cv', '--cv-months', '1', '--cv-min-train-days', '55', '--epochs', '2', '--samples', '3000', '--timezone', 'UTC', '--backend', 'wasm']

describe('gridmesh forecast eval --cv', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it('scores one fold per month origin, gives the same figures for the same seed, and prints the seed', async () => {
    const once = async () => {
      const io = capture()
      expect(await run([...args, '--seed', '9', '--json'])).toBe(0)
      vi.restoreAllMocks()
      expect(io.stderr()).toContain('forecast: seed 9')
      return JSON.parse(io.stdout())
    }
    const first = await once()
    expect(first.folds.map((f: { test: { fromIso: string } }) => f.test.fromIso)).toEqual(['2024-03-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'])
    expect(first.settings).toMatchObject({ foldMonths: 1, epochs: 2, maxSamples: 3000, seed: 9 })
    const second = await once()
    const figures = (r: { folds: { dayAhead: unknown; quantiles: unknown; train: { bestEpoch: number } }[] }) => r.folds.map((f) => ({ dayAhead: f.dayAhead, quantiles: f.quantiles, bestEpoch: f.train.bestEpoch }))
    expect(figures(second)).toEqual(figures(first))
  }, 240_000)

  it('prints a table with a row per fold and the verdict, and refuses --cv with --test-days', async () => {
    const io = capture()
    expect(await run(args)).toBe(0)
    const lines = io.stdout().trim().split('\n')
    expect(lines[0]).toMatch(/^\| fold \| test from \| days \| model MAPE \/ RMSE \| naive day \| naive week \| Holt-Winters \|/)
    expect(lines.filter((l) => /^\| [12] \| 2024-0[34]-01 \| (31|29) \|/.test(l))).toHaveLength(2)
    expect(lines.at(-1)).toMatch(/^\d of 2 folds meet the target .* seed 7, wasm/)
    expect(await run([...args, '--test-days', '7'])).toBe(2)
    expect(await run([...args, '--cv-months', '5'])).toBe(2)
  }, 240_000)
})
