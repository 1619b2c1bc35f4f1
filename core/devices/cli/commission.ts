import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { format } from 'date-fns'
import { parseFlags, parseIntegerFlag } from '../../cli/parseFlags.ts'
import { UsageError } from '../../errors/BaseError.ts'
import { commissionSite } from '../commission/commissionSite.ts'
import { renderReportHtml } from '../commission/renderReportHtml.ts'
import { createConnectionPool } from '../modbus/createConnectionPool.ts'
import { loadSiteFile } from '../site/loadSiteFile.ts'

const help = `usage: gridmesh commission --site FILE [--out DIR] [--observe-ms N] [--read-only] [--json]

Reads every point of every device, checks plausibility (frequency, voltage, SoC, power
ranges, load = pv + battery + grid), runs a small test write on each controllable device
(read back, watch it respond, revert), and writes commissioning-report.json and .html.
Exit code 0 when nothing failed, 1 otherwise.
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('commission', argv, {
    site: { type: 'string' }, out: { type: 'string' }, 'observe-ms': { type: 'string' }, 'read-only': { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.site) throw new UsageError(`commission: --site is required\n\n${help}`)
  const observeMs = parseIntegerFlag('observe-ms', flags['observe-ms'], 0, 600_000, 4000)
  const site = loadSiteFile(flags.site)
  const out = flags.out ?? `commissioning-${site.name}-${format(new Date(), 'yyyyMMdd-HHmm')}`
  const pool = createConnectionPool({ timeoutMs: 1000 })
  let report
  try {
    report = await commissionSite({ site, pool, observeMs, readOnly: flags['read-only'] ?? false, log: (m) => process.stderr.write(`commission: ${m}\n`) })
  } finally {
    await pool.close()
  }
  mkdirSync(out, { recursive: true })
  for (const [name, text] of [['commissioning-report.json', JSON.stringify(report, null, 2) + '\n'], ['commissioning-report.html', renderReportHtml(report)]] as const) {
    const tmp = join(out, `.${name}.tmp`)
    writeFileSync(tmp, text)
    renameSync(tmp, join(out, name))
  }
  process.stderr.write(`commission: ${report.status.toUpperCase()}; report in ${join(out, 'commissioning-report.html')}\n`)
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  return report.status === 'fail' ? 1 : 0
}
