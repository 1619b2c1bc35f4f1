// Bad input through the real CLI: each is refused by name with exit code 2 (1 for a plan
// input, as `gridmesh plan` documents), no stack trace, and the input file left as it was.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../..', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'gridmesh-bad-input-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

function gridmesh(...args: string[]) {
  const child = spawnSync(process.execPath, [join(root, 'bin', 'gridmesh.js'), ...args], { cwd: work, encoding: 'utf8', timeout: 60_000 })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

function file(name: string, text: string): string {
  const path = join(work, name)
  writeFileSync(path, text)
  return path
}

const aliasBomb = (() => {
  const lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
  for (let i = 1; i < 9; i++) lines.push(`l${i}: &l${i} [${Array.from({ length: 9 }, () => `*l${i - 1}`).join(',')}]`)
  return `${lines.join('\n')}\n`
})()
const noStack = /\n\s+at /

describe('bad input on the command line', { timeout: 120_000 }, () => {
  it('serve and sim refuse a YAML alias bomb by name, exit 2, no stack trace', () => {
    const bomb = file('bomb.yaml', aliasBomb)
    for (const command of ['serve', 'sim']) {
      const { status, stderr } = gridmesh(command, '--site', bomb)
      expect(stderr).toMatch(/^gridmesh: .*bomb\.yaml: invalid site file\n\ntoo many YAML aliases \(/)
      expect(stderr).not.toMatch(noStack)
      expect(status).toBe(2)
    }
    expect(readFileSync(bomb, 'utf8')).toBe(aliasBomb)
  })

  it('serve refuses an unknown time zone at the site file path timezone, not a flag', () => {
    const site = file('tz.yaml', 'name: s\ntimezone: Europe/Atlantis\ndevices:\n  - name: meter1\n    connection: { type: tcp, host: 127.0.0.1 }\n')
    const { status, stderr } = gridmesh('serve', '--site', site, '--data', join(work, 'data-tz'))
    expect(stderr).toContain('timezone: expected an IANA time zone such as Europe/Berlin, got "Europe/Atlantis"')
    expect(stderr).not.toMatch(/--timezone/)
    expect(stderr).not.toMatch(noStack)
    expect(status).toBe(2)
  })

  it('forecast train and eval name the row of a 1e308 load and the rows of a one-year gap, exit 2', () => {
    const rows = (from: string, count: number, value = (i: number) => String(1 + (i % 7))) =>
      Array.from({ length: count }, (_, i) => `${new Date(Date.parse(from) + i * 900_000).toISOString()},${value(i)}`)
    const absurd = file('absurd.csv', ['timestamp,load_kw', ...rows('2024-01-01T00:00:00Z', 2000, (i) => (i === 1000 ? '1e308' : '2'))].join('\n'))
    const gap = file('gap.csv', ['timestamp,load_kw', ...rows('2023-01-01T00:00:00Z', 1000), ...rows('2024-01-20T00:00:00Z', 1000)].join('\n'))
    const train = gridmesh('forecast', 'train', '--csv', absurd, '--out', join(work, 'model'))
    expect(train.stderr).toContain("absurd.csv: row 1002: column 'load_kw': load 1e308 kW is implausible for one site")
    expect(train.status).toBe(2)
    const withNaN = file('nan.csv', ['timestamp,load_kw', ...rows('2024-01-01T00:00:00Z', 200, (i) => (i === 50 ? 'NaN' : i === 60 ? 'Infinity' : '2'))].join('\n'))
    const nan = gridmesh('forecast', 'train', '--csv', withNaN, '--out', join(work, 'model'))
    expect(nan.stderr).toContain("nan.csv: row 62: column 'load_kw': 'Infinity' is not a number")
    expect(nan.status).toBe(2)
    writeFileSync(withNaN, ['timestamp,load_kw', ...rows('2024-01-01T00:00:00Z', 200, (i) => (i === 50 ? 'NaN' : '2'))].join('\n'))
    const hole = gridmesh('forecast', 'train', '--csv', withNaN, '--out', join(work, 'model'))
    expect(hole.stderr).toContain('1 empty/NaN load value(s) (row 52)')
    expect(hole.status).toBe(2) // too short to train, and said so
    const evaluate = gridmesh('forecast', 'eval', '--csv', gap, '--test-days', '1')
    expect(evaluate.stderr).toMatch(/gap\.csv: row 1002: column 'timestamp': a gap of 373\.\d days between row 1001 \(2023-01-11T09:45:00\.000Z\) and row 1002 \(2024-01-20T00:00:00\.000Z\)/)
    expect(evaluate.stderr).not.toMatch(noStack)
    expect(evaluate.status).toBe(2)
  })

  it('plan refuses absurd magnitudes by path instead of printing a fallback plan with exit 0', () => {
    const input = file(
      'absurd-plan.json',
      JSON.stringify({
        startMs: 1_767_225_600_000,
        slotDurationMs: 3_600_000,
        slots: [{ loadPowerW: 1e300, pvPowerW: 0, importPriceEurPerKWh: 1e300, exportPriceEurPerKWh: 0.05 }],
        battery: { capacityWh: 5000, socPct: 50, maxChargePowerW: 2500, maxDischargePowerW: 2500 },
      }),
    )
    const { status, stdout, stderr } = gridmesh('plan', '--input', input)
    expect(stdout).toBe('')
    expect(stderr).toContain('absurd-plan.json: slots[0].loadPowerW: expected a number <= 1000000000 (1 GW), got 1e+300')
    expect(stderr).toContain('absurd-plan.json: slots[0].importPriceEurPerKWh: expected a number <= 10000 (EUR/kWh), got 1e+300')
    expect(status).toBe(1)
  })
})
