// gridmesh export --db FILE --table T --from ISO --to ISO [--tier 1m] [--out FILE]: one
// table of the store as CSV (RFC 4180, ISO UTC times), to stdout or atomically to a file.
import { createWriteStream, existsSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { finished } from 'node:stream/promises'
import { formatCliError } from '../cli/formatCliError.ts'
import { parseFlags } from '../cli/parseFlags.ts'
import { UsageError } from '../errors/BaseError.ts'
import { createStore, type ExportTable, type TelemetryTier } from './createStore.ts'
import { StoreOpenError } from './errors.ts'

const TABLES: readonly ExportTable[] = ['telemetry', 'writes', 'alarms', 'plans', 'forecasts']
const TIERS: readonly TelemetryTier[] = ['raw', '1m', '15m']

const USAGE = `usage: gridmesh export --db FILE --table T --from ISO --to ISO [--tier 1m] [--out FILE]

Exports rows with from <= time < to from the controller's store as CSV (RFC 4180,
CRLF line ends, a header row, times in ISO 8601 UTC, empty fields for null).

options:
  --db FILE      the store (SQLite); it may be in use by a running controller
  --table T      telemetry | writes | alarms | plans | forecasts
  --from ISO     start, such as 2026-11-24 or 2026-11-24T06:00:00Z (times need Z or an offset)
  --to ISO       end (exclusive)
  --tier T       telemetry only: raw (default) | 1m | 15m (1m/15m give avg, min, max, count)
  --out FILE     write to FILE (replaced atomically) instead of stdout
  -h, --help     show this help

exit codes: 0 exported, 1 the store cannot be read, 2 usage error
`

/** Runs `gridmesh export`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let options: ReturnType<typeof parseOptions>
  try {
    options = parseOptions(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${formatCliError(error)}\n`)
    return 2
  }
  if (options === 'help') {
    process.stdout.write(USAGE)
    return 0
  }
  const { db, table, fromMs, toMs, tier, out } = options
  // Export reads; it must not leave an empty store behind a mistyped path.
  if (!existsSync(db)) {
    process.stderr.write(`gridmesh: export: --db ${db}: no such file; expected an existing GridMesh store\n`)
    return 1
  }
  let store
  try {
    store = createStore({ path: db })
  } catch (error) {
    if (!(error instanceof StoreOpenError)) throw error
    process.stderr.write(`${formatCliError(error)}\n`)
    return 1
  }
  try {
    const query = tier === undefined ? { fromMs, toMs } : { fromMs, toMs, tier }
    let rows: number
    if (out === undefined) {
      rows = await store.exportCsv(table, query, process.stdout)
    } else {
      const temporary = `${out}.${process.pid}.tmp`
      const stream = createWriteStream(temporary)
      try {
        rows = await store.exportCsv(table, query, stream)
        stream.end()
        await finished(stream)
        await rename(temporary, out)
      } catch (error) {
        stream.destroy()
        await rm(temporary, { force: true })
        const code = (error as NodeJS.ErrnoException).code
        if (code === undefined) throw error
        process.stderr.write(`gridmesh: export: --out ${out}: cannot write the file (${code}); expected a writable path in an existing directory\n`)
        return 1
      }
    }
    process.stderr.write(`export: ${rows} ${table} rows${out === undefined ? '' : ` to ${out}`}\n`)
    return 0
  } finally {
    store.close()
  }
}

function parseOptions(argv: string[]) {
  const values = parseFlags(
    'export',
    argv,
    {
      db: { type: 'string' },
      table: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      tier: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  )
  if (values.help) return 'help' as const
  for (const flag of ['db', 'table', 'from', 'to'] as const) {
    if (values[flag] === undefined || values[flag] === '') throw new UsageError(`export: --${flag} is required\n\n${USAGE}`)
  }
  const table = values.table as ExportTable
  if (!TABLES.includes(table)) throw new UsageError(`export: --table: expected one of ${TABLES.join(', ')}, got '${values.table}'`)
  const fromMs = parseIsoFlag('from', values.from!)
  const toMs = parseIsoFlag('to', values.to!)
  if (fromMs > toMs) throw new UsageError(`export: --from ${values.from} is after --to ${values.to}; expected from <= to`)
  const tier = values.tier as TelemetryTier | undefined
  if (tier !== undefined && !TIERS.includes(tier)) throw new UsageError(`export: --tier: expected one of ${TIERS.join(', ')}, got '${values.tier}'`)
  if (tier !== undefined && table !== 'telemetry') throw new UsageError(`export: --tier: only --table telemetry has tiers, got --table ${table}`)
  return { db: values.db!, table, fromMs, toMs, tier, out: values.out }
}

/** A date (UTC midnight) or a date-time with Z or an offset; a bare local time would depend on the machine. */
function parseIsoFlag(flag: string, text: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(?:Z|[+-]\d{2}:\d{2}))?$/
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number]
  // Date.parse rolls 2026-02-31 over into March; a day the month does not have is a typo.
  const realDay = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day
  const ms = iso.test(text) && realDay ? Date.parse(text) : NaN
  if (Number.isNaN(ms)) {
    throw new UsageError(`export: --${flag}: expected an ISO 8601 date or time with Z or an offset, such as 2026-11-24 or 2026-11-24T06:00:00Z, got '${text}'`)
  }
  return ms
}
