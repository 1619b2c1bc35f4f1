import { describe, expect, it } from 'vitest'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../support/spawnSim.ts'

describe('backtest over several windows', () => {
  it('refuses bad window flags and files, naming the flag, the file and the place in it', { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-btw-'))
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text)
      return join(dir, name)
    }
    const good = file('good.json', JSON.stringify([{ from: '2013-02-03T13:00:00Z', days: 1 }]))
    const cases: [string[], RegExp][] = [
      [['--windows', join(dir, 'none.json')], /--windows: .*none\.json: cannot read the file: ENOENT/],
      [['--windows', file('broken.json', '[{"from": ')], /--windows: .*broken\.json: not JSON: /],
      [['--windows', file('days.json', '{"windows": [{"from": "2013-02-03T13:00:00Z", "days": 2}, {"from": "2013-05-05T14:00:00Z", "days": "2"}]}')], /--windows: .*days\.json: windows\[1\]\.days: expected an integer from 1 to 366, got "2"/],
      [['--windows', file('from.json', '[{"from": "soon", "days": 2}]')], /--windows: .*from\.json: \[0\]\.from: expected an ISO 8601 date/],
      [['--windows', good, '--from', '2013-02-03T13:00:00Z'], /--windows .*good\.json: give the windows either in the file or as --from\/--days, not both/],
      [['--windows', good, '--seed', '2'], /--seed: with several windows give --seeds LIST/],
      [['--windows', good, '--seeds', '1,x'], /--seeds: expected a number or range within 0-2147483647/],
      [['--windows', good, '--parallel', '0'], /--parallel: expected an integer from 1 to 16, got '0'/],
      [['--windows', good, '--report', join(dir, 'r.html')], /--report: the HTML report shows one window; with several windows use --json/],
      [['--from', '2013-02-03T13:00:00Z', '--from', '2013-05-05', '--days', '1', '--model-cutoff', '2013-03-01T00:00:00Z'], /--model-cutoff: 2013-03-01T00:00:00Z is after the earliest window's start 2013-02-03T13:00:00\.000Z/],
      [['--from', '2013-02-03T13:00:00Z', '--from', 'tomorrow', '--days', '1'], /--from: expected an ISO 8601 date such as 2013-01-14T13:00:00Z, got 'tomorrow'/],
      [['--from', '2013-02-03T13:00:00Z', '--from', '2013-05-05', '--seeds', '1'], /give --windows FILE, or --from DATE \(repeated\) and --days N/],
      [['--windows', good, '--load-headroom', 'p95'], /--load-headroom: expected p90 or none, got 'p95'/],
      [['--from', '2013-02-03T13:00:00Z', '--days', '1', '--model-cutoff', '2013-03-01'], /--model-cutoff: 2013-03-01 is after --from 2013-02-03T13:00:00Z/],
    ]
    for (const [args, message] of cases) {
      const run = await runCli(['backtest', ...args], 60_000)
      expect(run.code, args.join(' ')).toBe(2)
      expect(run.stderr, args.join(' ')).toMatch(message)
    }
  })

  it('runs each window and seed in its own process and reports the distribution; the same window and seed give the same euros', { timeout: 1_800_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-btw-'))
    const windows = join(dir, 'w.json')
    // The same winter day twice under seed 2, in two processes at once: a backtest is reproducible to the cent.
    writeFileSync(windows, JSON.stringify({ seeds: [2], windows: [{ from: '2013-08-04T14:00:00Z', days: 1 }, { from: '2013-08-04T14:00:00Z', days: 1 }] }))
    const flags = ['--load-forecast', 'seasonal-naive', '--horizon-slots', '48']
    const run = await runCli(['backtest', '--windows', windows, '--parallel', '2', ...flags], 1_750_000)
    expect(run.code, run.stderr.slice(-2000)).toBe(0)
    expect(run.stderr).toMatch(/backtest windows: 2 window\(s\), 2 run\(s\), 2 at a time; flags for every run: --load-forecast seasonal-naive --horizon-slots 48/)
    // The table: one row per run, then the distribution.
    const rows = run.stdout.split('\n').filter((l) => l.startsWith('2013-08-04T14:00'))
    expect(rows).toHaveLength(2)
    const cells = rows.map((l) => l.trim().split(/\s+/))
    expect(cells[0]!.slice(0, 3)).toEqual(['2013-08-04T14:00', '1', '2'])
    // Controller, self-consumption and perfect-foresight euros, gap and saving: identical in both runs.
    expect(cells[1]!.slice(3, 8)).toEqual(cells[0]!.slice(3, 8))
    const [controller, selfConsumption, perfect, gap, saving] = cells[0]!.slice(3, 8).map(Number) as [number, number, number, number, number]
    // Perfect foresight is a lower bound of what a plan can do with the same battery and load.
    expect(perfect).toBeLessThanOrEqual(controller + 0.01)
    expect(gap).toBeCloseTo((100 * (controller - perfect)) / Math.abs(perfect), 0)
    expect(saving).toBeCloseTo((100 * (selfConsumption - controller)) / Math.abs(selfConsumption), 0)
    expect(run.stdout).toContain(`gap to perfect foresight: median ${gap} %, mean ${gap} %, best ${gap} %, worst ${gap} %`)
    expect(run.stdout).toMatch(/limit violations \(SoC, rating, envelope; all runs\): 0;/)
    expect(cells[0]![8]).toBe('0')
    expect(Number(cells[0]![9])).toBeGreaterThanOrEqual(96)
  })
})
