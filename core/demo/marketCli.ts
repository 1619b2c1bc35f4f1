// `gridmesh market <subcommand>`: the live market's subcommands (core/trading/marketCli.ts:
// keys, register) and the market demo, which lives here in core/demo.
import { marketSubcommands, runMarketCli } from '../trading/marketCli.ts'

const demoHelp = `usage: gridmesh market demo [--sites N] [--intervals N | --until-stopped] [--pace-ms N] [--seed N] [--start-hour H] [--key-dir DIR] [--site FILE] [--ledger FILE] [--json]

Starts the embedded anvil on 127.0.0.1 (or uses the chain the --site file names), deploys the settlement token and the market, and runs N sites
(2-8), each a separate process with its own scrypt key files and its own simulated site:
a simulator process serving a PV inverter, a battery and a grid meter as SunSpec Modbus
TCP devices on free 127.0.0.1 ports (the sites differ in PV, battery and load, and share
the weather), load and PV forecasts from a day measured over Modbus before the market
opens (seasonal naive load, PV persistence), the MILP plan with the market as plan
variables, and the control loop applying it. They trade for N 15-minute intervals (1-96):
each orders its plan's market quantity (selling for no less than its export tariff, buying
for no more than its import tariff), every site recomputes the auction, the clearing is
committed, chain time moves through the interval while each site steps its simulator and
control loop in 30 s cycles, each signs its grid meter's energy counters over the
interval, the settlement pays what was delivered, and finality follows the dispute window.
Simulated time equals chain time. Prints trades, settlements, planned vs metered energy per
site, balances and gas (--json: one JSON document).

  --sites N       number of sites (default 3)
  --intervals N   market intervals (default 4)
  --until-stopped run intervals until SIGINT or SIGTERM (then its sites and chain are
                  stopped; settled intervals are finalized as their dispute window passes)
  --pace-ms N     at least N real milliseconds per interval (default 0: as fast as the
                  sites step)
  --seed N        weather (cloud) seed of the sites' simulators (default 1)
  --start-hour H  the market opens at the next H:00 local time of the sites (0-23, default 11)
  --key-dir DIR   where the sites' key files go (default: a temporary directory)
  --site FILE     the operator's site file: its market section picks the chain (market.chain:
                  embedded, or { rpcUrl, chainId } of any EVM JSON-RPC endpoint; the demo moves
                  chain time, so that endpoint must be anvil) and the market's parameters; a
                  fresh market is deployed on it every run
  --ledger FILE   also write the run's ledger (signed orders and readings, clearing, trades,
                  transactions, dispute window, balances) as JSON for the HMI's market view
                  (gridmesh serve --market-ledger FILE serves it at GET /api/market),
                  rewritten after every interval
`

/** Entry point of `gridmesh market`; returns the exit code. */
export function run(argv: string[]): Promise<number> {
  return runMarketCli(argv, {
    demo: {
      synopsis: 'demo --sites N --intervals N [--seed N] [--start-hour H] [--key-dir DIR] [--site FILE] [--json]',
      summary: 'simulated sites trade on a local anvil chain',
      help: demoHelp,
      async run(rest) {
        const { runMarketDemo } = await import('./runMarketDemo.ts')
        return runMarketDemo(rest)
      },
    },
    ...marketSubcommands,
  })
}
