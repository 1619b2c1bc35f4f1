// `gridmesh market <subcommand>`: the live market's subcommands (core/trading/marketCli.ts:
// keys, register) and the market demo, which lives here in core/demo.
import { marketSubcommands, runMarketCli } from '../trading/marketCli.ts'

const demoHelp = `usage: gridmesh market demo [--sites N] [--intervals N | --until-stopped] [--seed N] [--start-hour H] [--key-dir DIR] [--site FILE] [--ledger FILE] [--json]

Runs N sites (2-8) in the live market on this machine, on the same path a real community
takes (issue 15): a fresh anvil (or the one the --site file names) whose clock follows the
sites' simulated clock, the settlement token and the market deployed, every site's owner
and meter keys made in scrypt key files and registered, the embedded MQTT broker with a
password and the protocol's ACL per site, and the clearing operator in this process. Every
site is a 'gridmesh serve --sim-clock' on its own simulator (a PV inverter, a battery and a
grid meter as SunSpec Modbus TCP devices on free 127.0.0.1 ports; the sites differ in PV,
battery and load, and share the weather): it forecasts, plans with the market as plan
variables, orders its plan's market quantity before gate closure, controls its battery to
deliver, and signs its meter's reading after each interval. The simulated clock runs at
60x (one 15-minute interval every 15 real seconds). Once every site has joined, the demo
runs N intervals, waits until what traded is settled and, after a dispute window of one
interval, finalized, stops everything and prints trades, settlements, balances and gas
(--json: one JSON document). A 2-site, 1-interval run takes about 90 real seconds.

  --sites N       number of sites (default 3)
  --intervals N   market intervals (1-96, default 4)
  --until-stopped run intervals until SIGINT or SIGTERM (then its sites and chain are
                  stopped, and what the operator recorded so far is printed)
  --seed N        weather (cloud) seed of the sites' simulators (default 1)
  --start-hour H  the simulated clock starts at the next H:00 local time of the sites
                  (0-23, default 11: the sun is up)
  --key-dir DIR   where the sites' key files go: DIR/site-N/owner.json and meter.json
                  (default: the demo's temporary directory)
  --site FILE     the operator's site file: its market.chain picks the chain (embedded, or
                  { rpcUrl, chainId } of an anvil: the demo moves its clock); a fresh market
                  is deployed on it every run
  --ledger FILE   also write the operator's ledger of the run's intervals (signed orders and
                  readings, clearing, trades, transactions, dispute window, balances) as JSON
                  for the HMI's market view (gridmesh serve --market-ledger FILE serves it at
                  GET /api/market), rewritten after every interval and at the end
`

/** Entry point of `gridmesh market`; returns the exit code. */
export function run(argv: string[]): Promise<number> {
  return runMarketCli(argv, {
    demo: {
      synopsis: 'demo --sites N --intervals N [--seed N] [--start-hour H] [--key-dir DIR] [--site FILE] [--ledger FILE] [--json]',
      summary: "simulated sites, each a 'serve', trade live on a local anvil chain",
      help: demoHelp,
      async run(rest) {
        const { runMarketDemo } = await import('./runMarketDemo.ts')
        return runMarketDemo(rest)
      },
    },
    ...marketSubcommands,
  })
}
