import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseFlags, parseIntegerFlag } from '../cli/parseFlags.ts'
import { UsageError } from '../errors/BaseError.ts'
import { loadSiteFile } from '../devices/site/loadSiteFile.ts'
import { liveSimulatorClock } from '../demo/liveSimulatorClock.ts'
import { startSite } from './startSite.ts'

const help = `usage: gridmesh serve --site FILE [--data DIR] [--port N] [--host ADDR] [--model DIR]

Runs a site as a service: reads and commands every device of the site file each control
cycle, forecasts load (the TF.js model, retrained on this site's history once four weeks
exist) and PV, re-plans the battery with the MILP every 15 minutes, stores telemetry,
writes, plans, forecasts and alarms, and serves the API for the HMI:

  GET  /api/state /api/plan /api/forecast /api/alarms /api/trend
  POST /api/commands       e.g. {"type":"acknowledgeAlarm","id":3}
  WS   /api/events         cycles, plans, forecasts, alarms as they happen

Signing in: the local owner's token (new each start, in DIR/api-token, readable by this
user only) as "Authorization: Bearer <token>"; the one-time link printed as 'open URL'
(the HMI, signed in as the owner, one click); or a named account ('gridmesh users add')
through the HMI's login (a session cookie). Writes are checked by role and audited.

  --site FILE   the site file (from 'gridmesh scan'; its optional 'control' section sets
                location, PV, grid and battery limits, tariff and holidays)
  --data DIR    store, retrained model and token (default ./gridmesh-data)
  --port N      API port (default 8700; 0 picks a free one)
  --host ADDR   API address (default 127.0.0.1); any other address also needs --allow-remote
  --allow-remote
                serve beyond this machine (prints a warning without TLS)
  --hostname NAME
                the name clients use when it is not ADDR (the certificate's name)
  --tls-cert FILE, --tls-key FILE
                PEM certificate and key: https, and the session cookie is Secure
  --model DIR   load model to start with (default: the site's own, else models/default)
  --sim-api URL the simulator's control API when the site runs on 'gridmesh sim' (e.g.
                http://127.0.0.1:8600): the HMI's simulator view and its fault/clock commands
  --sim-clock   with --sim-api: the site runs on the simulator's clock (its time and speed
                read once, run on at that speed; a paused simulator is waited for), its
                control cycle and device staleness scaled to the speed (a time-warped demo)
  --market-ledger FILE
                a ledger from 'gridmesh market demo --ledger FILE' for the HMI's market view
  --operator    also run the community's clearing operator in this process (as 'gridmesh
                operator': the site file's market section, this data folder's operator key)
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('serve', argv, { site: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, model: { type: 'string' }, 'sim-api': { type: 'string' }, 'allow-remote': { type: 'boolean' }, hostname: { type: 'string', multiple: true }, 'tls-cert': { type: 'string' }, 'tls-key': { type: 'string' }, 'market-ledger': { type: 'string' }, 'sim-clock': { type: 'boolean' }, operator: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  if (!flags.site) throw new UsageError(`serve: --site FILE is required\n\n${help}`)
  const port = parseIntegerFlag('port', flags.port, 0, 65535, 8700)
  // checked before the site file, so a wrong flag is a usage error whatever the file; credentials in it are not echoed
  if (flags['sim-api'] !== undefined && !/^http:\/\/[^/\s]+\/?$/.test(flags['sim-api'])) throw new UsageError(`--sim-api: expected the simulator's control API as http://HOST:PORT, got '${flags['sim-api'].replace(/\/\/[^@/]*@/, '//…@').slice(0, 100)}'`)
  if (flags['sim-clock'] && flags['sim-api'] === undefined) throw new UsageError('serve: --sim-clock needs --sim-api URL (the simulator whose clock the site runs on)')
  const site = loadSiteFile(flags.site)
  const say = (m: string) => process.stderr.write(`${new Date().toISOString()} serve: ${m}\n`)
  const host = flags.host ?? '127.0.0.1'
  if (!/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host) && !flags['allow-remote']) throw new UsageError(`serve: --host ${host} is reachable from other machines; add --allow-remote to mean it (with --tls-cert/--tls-key, or a TLS proxy in front)`)
  if ((flags['tls-cert'] === undefined) !== (flags['tls-key'] === undefined)) throw new UsageError('serve: --tls-cert and --tls-key go together')
  const tls = flags['tls-cert'] !== undefined ? { cert: readFlagFile('tls-cert', flags['tls-cert']), key: readFlagFile('tls-key', flags['tls-key']!) } : undefined
  const simClock = flags['sim-clock'] ? await liveSimulatorClock({ apiUrl: flags['sim-api']! }) : null
  if (simClock) say(`on the simulator's clock: ${new Date(simClock.now()).toISOString()} at ${simClock.speed}x`)
  const timing = simClock && { now: simClock.now, staleAfterMs: simClock.staleAfterMs, refreshMs: simClock.refreshMs }
  const running = await startSite({ site, dataDir: flags.data ?? 'gridmesh-data', port, host: flags.host, loadModelDir: flags.model, allowRemote: flags['allow-remote'], hostNames: flags.hostname, tls, simApiUrl: flags['sim-api'], marketLedgerFile: flags['market-ledger'], operator: flags.operator, siteFileDir: dirname(resolve(flags.site)), log: say, ...timing })
  // Listening for the stop signals before saying it runs: a signal sent as soon as the api line is read must stop it cleanly, not kill it.
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
  running.controller.start(simClock?.periodMs)
  process.stdout.write(`api ${running.api.url} token-file ${running.tokenFile}\n`)
  // One click for a newcomer: this link signs the local owner in once (10 minutes) and opens the HMI.
  process.stdout.write(`open ${running.api.signInUrl()}\n`)
  say(`running ${site.name}: ${running.drivers.length} devices, API ${running.api.url}`)
  await stopped
  say('stopping')
  await running.stop()
  return 0
}

function readFlagFile(flag: string, path: string): Buffer {
  try {
    return readFileSync(path)
  } catch (error) {
    throw new UsageError(`serve: --${flag} ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`)
  }
}
