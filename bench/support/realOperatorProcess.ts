// The real operator (core/trading/startLiveOperator, what `gridmesh operator` runs) in a
// process of its own, for bench/market-live.bench.ts --operator real: it runs on the
// chain's clock and closes each gate by itself; the bench only moves chain time. This
// process reports its CPU time per interval and when the operator said it closed a gate
// (its 'clearing' event), so the bench can time gate -> commit without the tick's delay.
//
// argv: <dataDir> <json: the site file's market section>; env: GRIDMESH_KEYSTORE_PASSPHRASE.
// stdin/stdout: JSON lines (core/market/jsonLines.ts).
import { createInterface } from 'node:readline'
import type { SiteFile } from '../../core/devices/site/siteFileSchema.ts'
import { fromJsonLine, toJsonLine } from '../../core/market/jsonLines.ts'
import { siteMarketSchema } from '../../core/site/siteMarketSchema.ts'
import { startLiveOperator } from '../../core/trading/startLiveOperator.ts'

export type RealOperatorRequest =
  | { type: 'gate'; gate: bigint }
  /** let the operator tick idly for `ms` (no gate due), then answer its CPU time over that while */
  | { type: 'idle'; ms: number }
  | { type: 'bye' }

export type RealOperatorGateAnswer = {
  type: 'gate'
  /** Date.now() when the operator emitted the gate's 'clearing' event (decision made), or null */
  clearingAtMs: number | null
  /** CPU time of this process since its previous answer (one interval) */
  cpuUserUs: number
  cpuSystemUs: number
  counters: Record<string, number>
}

/** how often the operator looks at its clock (its default is 1 000 ms; the bench's intervals pass in seconds) */
const tickMs = 100

const [dataDir, json] = process.argv.slice(2)
if (!dataDir || !json) throw new Error('realOperatorProcess: expected <dataDir> <json: market section> as arguments')
// the operator reads only the site file's market section; the rest of a site (devices, control) is a serve's
const site = { market: siteMarketSchema.parse(JSON.parse(json)) } as SiteFile
const operator = await startLiveOperator({ site, dataDir, tickMs, log: (m) => process.stderr.write(`operator: ${m}\n`) })
const clearingAtMs = new Map<string, number>()
operator.view.onEvent((e) => {
  if (e.kind === 'clearing' && e.interval !== null && !clearingAtMs.has(e.interval)) clearingAtMs.set(e.interval, Date.now())
  if (e.kind === 'error') process.stderr.write(`operator error: interval ${e.interval}: ${e.detail}\n`)
})
let cpuMark = process.cpuUsage()
const answer = (value: unknown) => process.stdout.write(toJsonLine(value))
answer({ type: 'ready', market: operator.market })
for await (const line of createInterface({ input: process.stdin })) {
  const r = fromJsonLine<RealOperatorRequest>(line)
  if (r.type === 'bye') break
  if (r.type === 'idle') {
    const mark = process.cpuUsage()
    await new Promise((resolve) => setTimeout(resolve, r.ms))
    const idle = process.cpuUsage(mark)
    cpuMark = process.cpuUsage()
    answer({ type: 'idle', cpuUs: idle.user + idle.system, ticks: r.ms / tickMs })
    continue
  }
  const cpu = process.cpuUsage(cpuMark)
  cpuMark = process.cpuUsage()
  const a: RealOperatorGateAnswer = { type: 'gate', clearingAtMs: clearingAtMs.get(r.gate.toString()) ?? null, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, counters: operator.view.status().counters }
  answer(a)
}
await operator.stop()
process.exit(0)
