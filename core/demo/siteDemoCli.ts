import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startSite } from '../api/startSite.ts'
import { ensureHmiBuilt } from '../api/ensureHmiBuilt.ts'
import { parseFlags, parseIntegerFlag } from '../cli/parseFlags.ts'
import { parseYamlText } from '../devices/site/parseYamlText.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { simulatorSiteFile, type SimulatorSite } from '../simulator/simulatorSiteFile.ts'
import { spawnSimulator, type SimReady } from '../simulator/spawnSimulator.ts'

const help = `usage: gridmesh demo [--speed N] [--data DIR] [--seed N] [--port N]

The embedded demo microgrid: the hardware simulator (PV inverter, battery, meter on
Modbus TCP 127.0.0.1:5020-5022, its control API on 127.0.0.1:8600), and the GridMesh
site service on it, exactly as 'gridmesh serve' runs a real site: reading and commanding
the devices every cycle, forecasting load and PV, re-planning the battery with the MILP
every 15 simulated minutes, storing telemetry, writes, plans, forecasts and alarms in
DIR/gridmesh.db, and serving the HMI API on 127.0.0.1:PORT (token in DIR/api-token).
The HMI's simulator view drives the simulator; its market view shows the ledger of a
market demo run with 'gridmesh market demo --ledger DIR/market-ledger.json'.
A status line every few seconds; Ctrl-C stops everything.

  --speed N   time warp of the simulated site (default 60: an hour a minute)
  --data DIR  where the store lives (default ./gridmesh-data)
  --seed N    cloud seed (default 1)
  --port N    API port (default 8700; 0 picks a free one)
`

const demoSite = fileURLToPath(new URL('../../hardware-sims/sites/demo.yaml', import.meta.url))

/** The controller's view of the demo site: the simulator's devices where they came up, and how the site is run (its location and PV array from the simulator's site file). */
export function demoSiteFile(ready: readonly SimReady[]): SiteFile {
  const sim = parseYamlText(readFileSync(demoSite, 'utf8')) as SimulatorSite
  return simulatorSiteFile({ sim, ready, timeoutMs: 1000, control: { battery: { socMinPct: 10, socMaxPct: 95, targetEndSocPct: 30 } } })
}

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('demo', argv, { speed: { type: 'string' }, data: { type: 'string' }, seed: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  const speed = parseIntegerFlag('speed', flags.speed, 1, 600, 60)
  const seed = parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1)
  const port = parseIntegerFlag('port', flags.port, 0, 65535, 8700)
  const dataDir = flags.data ?? 'gridmesh-data'
  const say = (m: string) => process.stderr.write(`${new Date().toISOString()} demo: ${m}\n`)
  ensureHmiBuilt(say)
  const sim = await spawnSimulator(demoSite, seed, 60_000, { speed })
  try {
    const state0 = await sim.state()
    const realStart = performance.now()
    const simNow = () => Math.round(state0.timeMs + (performance.now() - realStart) * speed)
    // One cycle every simulated 15 s at most, every real second at least.
    const periodMs = Math.min(1000, 15_000 / speed)
    const simPeriodMs = periodMs * speed
    const site = await startSite({ site: demoSiteFile(sim.ready), dataDir, now: simNow, port, staleAfterMs: Math.max(10_000, 3 * simPeriodMs), refreshMs: Math.max(20_000, 2 * simPeriodMs), simApiUrl: sim.apiUrl, marketLedgerFile: join(dataDir, 'market-ledger.json'), log: say })
    try {
      let stopping = false
      let wake: () => void = () => {}
      const stop = () => {
        stopping = true
        wake()
      }
      process.once('SIGINT', stop)
      process.once('SIGTERM', stop)
      site.controller.start(periodMs)
      process.stdout.write(`api ${site.api.url} token-file ${site.tokenFile}\n`)
      // One click for a newcomer: this link signs the local owner in once (10 minutes) and opens the HMI.
      process.stdout.write(`open ${site.api.signInUrl()}\n`)
      say(`running: simulator API ${sim.apiUrl}, speed ${speed}x, HMI API ${site.api.url} (token in ${site.tokenFile})`)
      while (!stopping) {
        await new Promise<void>((r) => {
          wake = r
          setTimeout(r, 5000)
        })
        const report = site.controller.latest()
        if (!report || stopping) continue
        const snap = report.snapshot
        const batteryW = snap.batteries[0]?.powerW ?? 0
        const d = report.decisions[0]
        const f = site.controller.forecast()
        process.stdout.write(`${new Date(snap.timeMs).toISOString()}  load ${Math.round((snap.gridW ?? 0) + (snap.pvW ?? 0) + batteryW)} W  pv ${Math.round(snap.pvW ?? 0)} W  battery ${Math.round(batteryW)} W (SoC ${snap.batteries[0]?.socPct ?? '-'} %)  grid ${Math.round(snap.gridW ?? 0)} W  mode ${d?.mode ?? '-'}  forecast ${f.loadMethod ?? '-'}  alarms ${site.controller.alarms({ state: 'active' }).map((a) => a.key).join(',') || 'none'}  cycle ${report.durationMs.toFixed(1)} ms\n`)
      }
      say('stopping')
      // The controller stops before the simulator does: its last cycle must not see the devices vanish.
      await site.stop()
      return 0
    } finally {
      await site.stop()
    }
  } finally {
    await sim.stop()
  }
}
