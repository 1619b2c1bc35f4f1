import { parseFlags, parseIntegerFlag } from '../cli/parseFlags.ts'
import { UsageError } from '../errors/BaseError.ts'
import { startDemo, DemoStoppedError } from './startDemo.ts'

export { demoSiteFile } from './demoSiteFile.ts'

const help = `usage: gridmesh demo [--speed N] [--data DIR] [--seed N] [--start TIME] [--port N] [--history-days N] [--peers N] [--free-ports]

The embedded demo microgrid, what 'npm run demo' runs where no desktop window can open:

- the hardware simulator: PV inverter, battery and grid meter on Modbus TCP
  127.0.0.1:5020-5022, its control API on 127.0.0.1:8600;
- a week of measured history first: the simulator's clock is stepped through the 7 days
  (and an hour) before now while its meters are read over Modbus, and the slot means go
  into the site's store as its history, so the TF.js load model (models/default, trained
  on public load data), not seasonal naive, forecasts from the first plan. A second start
  on the same data folder goes on where its history ends, without measuring again.
  Training a model of the site's own needs at least 21 days; the service retrains on its
  own history once 28 days exist (--history-days 28 measures them now, in about four
  times the time);
- this site's service on it, exactly as 'gridmesh serve' runs a real site: reading and
  commanding the devices every cycle, forecasting load and PV, re-planning the battery
  with the MILP every 15 simulated minutes, storing telemetry, writes, plans, forecasts
  and alarms in DIR/gridmesh.db, and serving the HMI and its API on 127.0.0.1:PORT
  (token in DIR/api-token; it prints a one-time sign-in link to open);
- the market: this site and N peer sites (each 'gridmesh serve --sim-clock' on its own
  simulator, with its own keys and plan) trade live on a fresh anvil chain and the
  embedded MQTT broker (per-site passwords and ACLs), the clearing operator in this
  process: the protocol of 'gridmesh serve' and 'gridmesh operator' (core/market/PROTOCOL.md),
  not a demo protocol. One 15-minute interval every 15 real seconds at speed 60; the chain's
  clock follows the simulated one. A fresh folder's simulated clock starts at 11:00 on
  2 December 2026 in the site's town (Melbourne), the same day every run: under seed 1 an
  overcast late morning in which this site buys from its neighbours from the first
  interval. The HMI's market view is this site's live node:
  its orders, the clearing and its check, its signed readings, settlement and
  finalization transactions, the peers' presence and the dropped-message counters.

A status line every few seconds; Ctrl-C stops everything it started (simulator, site
service, anvil, the broker, the operator, the peer serves and their simulators).

  --speed N         time warp of the simulated site (default 60: an hour a minute)
  --data DIR        the site's data folder (default ./gridmesh-data)
  --seed N          weather (cloud) seed of every simulator (default 1)
  --start TIME      where a fresh data folder's simulated clock starts, ISO 8601 with its
                    offset (default 2026-12-02T11:00:00+11:00); a folder with history goes on
                    where it ended
  --port N          HMI and API port (default 8700; 0 picks a free one)
  --history-days N  days measured before the site opens (default 7, 7-60)
  --peers N         market peer sites (default 2; 0 runs no market; 2-8 otherwise)
  --free-ports      the simulator's devices and API on free ports (a second demo beside the first)
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('demo', argv, { speed: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, port: { type: 'string' }, 'history-days': { type: 'string' }, peers: { type: 'string' }, start: { type: 'string' }, 'free-ports': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  const speed = parseIntegerFlag('speed', flags.speed, 1, 600, 60)
  const seed = parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1)
  const port = parseIntegerFlag('port', flags.port, 0, 65535, 8700)
  const historyDays = parseIntegerFlag('history-days', flags['history-days'], 7, 60, 7)
  const peers = parseIntegerFlag('peers', flags.peers, 0, 8, 2)
  if (peers === 1) throw new UsageError("--peers: expected 0 (no market) or 2-8 sites, got '1'; a market needs two sides")
  const startMs = flags.start === undefined ? undefined : parseStart(flags.start)
  const dataDir = flags.data ?? 'gridmesh-data'
  const say = (m: string) => process.stderr.write(`${new Date().toISOString()} demo: ${m}\n`)
  let wake: () => void = () => {}
  const stopping = new AbortController()
  // Every signal is caught while the demo runs: Ctrl-C reaches it from the terminal and again
  // from whatever started it (npm, startDesktop), and a second one must not cut the cleanup short.
  const stop = () => {
    if (stopping.signal.aborted) say('stopping; everything it started is being stopped')
    stopping.abort()
    wake()
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  let demo
  try {
    demo = await startDemo({ dataDir, speed, seed, port, historyDays, peers, ...(startMs !== undefined && { startMs }), freePorts: flags['free-ports'] ?? false, log: say, signal: stopping.signal })
  } catch (error) {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    if (error instanceof DemoStoppedError) {
      say('stopped while starting; everything it started is stopped')
      return 0
    }
    throw error
  }
  try {
    const { site } = demo
    process.stdout.write(`api ${site.api.url} token-file ${site.tokenFile}\n`)
    // One click for a newcomer: this link signs the local owner in once (10 minutes) and opens the HMI.
    process.stdout.write(`open ${demo.signInUrl()}\n`)
    say(`running: simulator API ${demo.simApiUrl}, speed ${speed}x, HMI API ${site.api.url} (token in ${site.tokenFile})`)
    while (!stopping.signal.aborted) {
      await new Promise<void>((r) => {
        wake = r
        setTimeout(r, 5000)
      })
      const report = site.controller.latest()
      if (!report || stopping.signal.aborted) continue
      const snap = report.snapshot
      const batteryW = snap.batteries[0]?.powerW ?? 0
      const d = report.decisions[0]
      const f = site.controller.forecast()
      process.stdout.write(`${new Date(snap.timeMs).toISOString()}  load ${Math.round((snap.gridW ?? 0) + (snap.pvW ?? 0) + batteryW)} W  pv ${Math.round(snap.pvW ?? 0)} W  battery ${Math.round(batteryW)} W (SoC ${snap.batteries[0]?.socPct ?? '-'} %)  grid ${Math.round(snap.gridW ?? 0)} W  mode ${d?.mode ?? '-'}  forecast ${f.loadMethod ?? '-'}  alarms ${site.controller.alarms({ state: 'active' }).map((a) => a.key).join(',') || 'none'}  cycle ${report.durationMs.toFixed(1)} ms\n`)
    }
    say('stopping')
    return 0
  } finally {
    await demo.stop()
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
    say('stopped')
  }
}

/** --start: a time with its date and a UTC offset (or Z), between 2000 and 2100. */
function parseStart(value: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : Number.NaN
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1) || ms >= Date.UTC(2100, 0, 1))
    throw new UsageError(`--start: expected an ISO 8601 time with its offset between 2000 and 2100, like 2026-12-02T11:00:00+11:00, got '${value}'`)
  return ms
}
