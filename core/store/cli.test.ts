import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it, vi } from 'vitest'
import { run } from './cli.ts'
import { createStore } from './createStore.ts'

const T0 = Date.UTC(2026, 10, 24)
let dir: string
let db: string
let stdout: string
let stderr: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gm-store-cli-'))
  db = join(dir, 'store.db')
  const store = createStore({ path: db })
  store.appendTelemetry(Array.from({ length: 180 }, (_, i) => ({ timeMs: T0 + i * 1000, device: 'meter', point: 'powerW', value: i })))
  store.downsample(T0 + 3 * 60_000)
  store.raiseAlarm({ key: 'k', device: null, severity: 'info', message: 'a,b', timeMs: T0 })
  store.close()
  stdout = ''
  stderr = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true))
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true))
})
afterEach(() => {
  vi.restoreAllMocks()
})

it('exports a tier to a file and a table to stdout', async () => {
  const out = join(dir, 'minutes.csv')
  expect(await run(['--db', db, '--table', 'telemetry', '--from', '2026-11-24', '--to', '2026-11-24T00:02:00Z', '--tier', '1m', '--out', out])).toBe(0)
  expect(readFileSync(out, 'utf8')).toBe(
    'time,device,point,avg,min,max,count\r\n2026-11-24T00:00:00.000Z,meter,powerW,29.5,0,59,60\r\n2026-11-24T00:01:00.000Z,meter,powerW,89.5,60,119,60\r\n',
  )
  expect(stderr).toBe(`export: 2 telemetry rows to ${out}\n`)
  expect(await run(['--db', db, '--table', 'alarms', '--from', '2026-11-23T23:00:00+01:00', '--to', '2026-11-25'])).toBe(0)
  expect(stdout).toBe('id,key,device,severity,message,state,raised_at,acknowledged_at,acknowledged_by,cleared_at,shelved_until,shelved_by,shelve_reason\r\n1,k,,info,"a,b",unacknowledged,2026-11-24T00:00:00.000Z,,,,,,\r\n')
})

it.each([
  [['--table', 'telemetry', '--from', '2026-11-24', '--to', '2026-11-25'], 'export: --db is required'],
  [['--db', 'x.db', '--table', 'users', '--from', '2026-11-24', '--to', '2026-11-25'], "export: --table: expected one of telemetry, writes, alarms, plans, forecasts, got 'users'"],
  [['--db', 'x.db', '--table', 'writes', '--from', '2026-02-31', '--to', '2026-11-25'], "export: --from: expected an ISO 8601 date or time with Z or an offset, such as 2026-11-24 or 2026-11-24T06:00:00Z, got '2026-02-31'"],
  [['--db', 'x.db', '--table', 'writes', '--from', '2026-11-24T06:00', '--to', '2026-11-25'], "got '2026-11-24T06:00'"],
  [['--db', 'x.db', '--table', 'writes', '--from', '2026-11-25', '--to', '2026-11-24'], 'export: --from 2026-11-25 is after --to 2026-11-24; expected from <= to'],
  [['--db', 'x.db', '--table', 'writes', '--from', '2026-11-24', '--to', '2026-11-25', '--tier', '1m'], 'export: --tier: only --table telemetry has tiers, got --table writes'],
  [['--db', 'x.db', '--table', 'telemetry', '--from', '2026-11-24', '--to', '2026-11-25', '--tier', '5m'], "export: --tier: expected one of raw, 1m, 15m, got '5m'"],
  [['--db', 'x.db', '--verbose'], "export: Unknown option '--verbose'"],
])('usage error %j exits 2', async (argv, message) => {
  expect(await run(argv)).toBe(2)
  expect(stderr).toContain(message)
  expect(stdout).toBe('')
})

it('a missing or foreign --db exits 1 naming it, creating and changing nothing', async () => {
  const missing = join(dir, 'typo.db')
  expect(await run(['--db', missing, '--table', 'writes', '--from', '2026-11-24', '--to', '2026-11-25'])).toBe(1)
  expect(stderr).toContain(`--db ${missing}: no such file`)
  expect(existsSync(missing)).toBe(false)
  const foreign = join(dir, 'foreign.db')
  writeFileSync(foreign, 'not a database at all, '.repeat(200))
  expect(await run(['--db', foreign, '--table', 'writes', '--from', '2026-11-24', '--to', '2026-11-25'])).toBe(1)
  expect(stderr).toContain(`store ${foreign}: is not a SQLite database`)
  expect(readFileSync(foreign, 'utf8')).toBe('not a database at all, '.repeat(200))
})

it('an --out in a missing directory exits 1 naming it', async () => {
  const out = join(dir, 'no-such-dir', 'x.csv')
  expect(await run(['--db', db, '--table', 'alarms', '--from', '2026-11-24', '--to', '2026-11-25', '--out', out])).toBe(1)
  expect(stderr).toBe(`gridmesh: export: --out ${out}: cannot write the file (ENOENT); expected a writable path in an existing directory\n`)
})

it('--help prints the usage and exits 0', async () => {
  expect(await run(['--help'])).toBe(0)
  expect(stdout).toContain('usage: gridmesh export --db FILE --table T --from ISO --to ISO [--tier 1m] [--out FILE]')
})
