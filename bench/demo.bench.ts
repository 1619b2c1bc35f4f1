// `gridmesh demo` (what `npm run demo` runs headless): time from the spawn to the HMI
// reachable, to the first load forecast made by the TF.js model, and to the first market
// interval in which this site traded settled on the chain (issue 15: the live path, this
// site's own node's ledger that the HMI's market view reads, source 'live'); then
// a second start on the same data folder (its history is cached in the store). The figure
// before issue 13: the demo had no market, and a settled trade took a separate command,
// `gridmesh market demo --sites 2 --intervals 1 --ledger FILE`, timed here to its exit in
// the same run. Target (issue 13): everything within 90 s on this machine.
import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('..', import.meta.url))
const cli = join(repo, 'bin', 'gridmesh.js')
const log = (m: string) => process.stderr.write(`demo bench: ${m}\n`)
const seed = 1
const timeoutMs = 300_000

type Milestones = { hmiReachableMs: number | null; firstModelForecastMs: number | null; firstSettledTradeMs: number | null; historyLine: string | null }

/** Starts the demo on `data`, polls its API once a second until every milestone is seen (or the timeout), then stops it with SIGINT. */
async function timeDemo(data: string, waitForTrade: boolean): Promise<Milestones & { stopMs: number }> {
  const started = performance.now()
  const child = spawn(process.execPath, [cli, 'demo', '--port', '0', '--data', data, '--free-ports', '--seed', String(seed)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const m: Milestones = { hmiReachableMs: null, firstModelForecastMs: null, firstSettledTradeMs: null, historyLine: null }
  const at = () => Math.round(performance.now() - started)
  try {
    while (performance.now() - started < timeoutMs && child.exitCode === null) {
      const line = /api (http:\/\/127\.0\.0\.1:\d+) token-file (\S+)/.exec(out)
      if (line) {
        const [, url, tokenFile] = line
        const headers = { authorization: `Bearer ${readFileSync(tokenFile!, 'utf8').trim()}` }
        if (m.hmiReachableMs === null && (await fetch(`${url}/`)).status === 200) m.hmiReachableMs = at()
        if (m.firstModelForecastMs === null) {
          const f = (await (await fetch(`${url}/api/forecast`, { headers })).json()) as { loadMethod: string | null }
          if (f.loadMethod === 'model') m.firstModelForecastMs = at()
          else if (f.loadMethod !== null) throw new Error(`the first forecast was made by ${f.loadMethod}, not the model`)
        }
        if (waitForTrade && m.firstSettledTradeMs === null) {
          const market = (await (await fetch(`${url}/api/market`, { headers })).json()) as { available: boolean; source?: string; ledger?: { intervals: { trades: unknown[]; settlement: { settleTx: string | null } }[] } }
          if (market.available && market.source !== 'live') throw new Error(`GET /api/market is a ${market.source} ledger, not this site's live node's`)
          if (market.available && market.ledger!.intervals.some((i) => i.trades.length > 0 && i.settlement.settleTx)) m.firstSettledTradeMs = at()
        }
        if (m.hmiReachableMs !== null && m.firstModelForecastMs !== null && (!waitForTrade || m.firstSettledTradeMs !== null)) break
      }
      await new Promise((r) => setTimeout(r, 500))
    }
  } finally {
    const stopAt = performance.now()
    child.kill('SIGINT')
    await exited
    m.historyLine = /history: (\d+ slots measured[^\n]*|[^\n]*holds [^\n]*)/.exec(err)?.[1]?.slice(0, 160) ?? null
    if (m.hmiReachableMs === null) log(`no HMI within ${timeoutMs / 1000} s:\n${err.slice(-3000)}`)
    Object.assign(m, { stopMs: Math.round(performance.now() - stopAt) })
  }
  return m as Milestones & { stopMs: number }
}

/** The path to a settled trade before issue 13: the market demo command with 2 sites and one interval, to its exit (ledger written). */
function timeMarketDemoCommand(dir: string): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [cli, 'market', 'demo', '--sites', '2', '--intervals', '1', '--seed', String(seed), '--ledger', join(dir, 'ledger.json'), '--json'], { timeout: timeoutMs, maxBuffer: 64 << 20, env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: 'demo bench' } }, (error, _out, stderr) =>
      error ? reject(new Error(`market demo failed: ${stderr.slice(-2000)}`)) : resolve(Math.round(performance.now() - started)),
    ),
  )
}

const dir = mkdtempSync(join(tmpdir(), 'demo-bench-'))
try {
  const loadBefore = (await import('node:os')).loadavg()[0]!
  log('first start on a new data folder (measures the week of history)')
  const first = await timeDemo(join(dir, 'site'), true)
  log(`first start: ${JSON.stringify(first)}`)
  log('second start on the same folder (history cached in its store)')
  const second = await timeDemo(join(dir, 'site'), false)
  log(`second start: ${JSON.stringify(second)}`)
  log('before issue 13: gridmesh market demo --sites 2 --intervals 1')
  const marketDemoMs = await timeMarketDemoCommand(dir)
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : Number((a / b).toFixed(3)))
  const results = {
    seed,
    loadAverageAtStart: Number(loadBefore.toFixed(2)),
    firstStart: first,
    secondStart: second,
    marketDemoCommandToSettledMs: marketDemoMs,
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'demo',
      results,
      ratios: {
        firstSettledTradeVsMarketDemoCommand: ratio(first.firstSettledTradeMs, marketDemoMs),
        secondVsFirstStartHmiReachable: ratio(second.hmiReachableMs, first.hmiReachableMs),
      },
      targets: { hmiReachableMs: '< 90000', firstModelForecastMs: '< 90000', firstSettledTradeMs: '< 90000', secondVsFirstStartHmiReachable: '< 1 (the week is cached)' },
    })}\n`,
  )
} finally {
  rmSync(dir, { recursive: true, force: true })
}
