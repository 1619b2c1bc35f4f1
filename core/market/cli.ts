// `gridmesh market <subcommand>`: peer-to-peer market tools.
import { UsageError } from '../errors/BaseError.ts'

const usage = `usage: gridmesh market <subcommand>

subcommands:
  demo --sites N --intervals N [--key-dir DIR] [--json]   sites trade on a local anvil chain
`

const demoHelp = `usage: gridmesh market demo [--sites N] [--intervals N] [--seed N] [--key-dir DIR] [--json]

Starts anvil on 127.0.0.1, deploys the settlement token and the market, and runs N sites
(2-8, each a separate process with its own scrypt key files and simulated meter) trading
for N 15-minute intervals (1-96): signed orders, the same auction recomputed by every site,
commit, delivery, signed meter readings, settlement, and finality after the dispute window.
Prints trades, settlements, balances and gas (--json: one JSON document).

  --sites N      number of sites (default 3)
  --intervals N  market intervals (default 4)
  --seed N       seed of the sites' surplus and deficit
  --key-dir DIR  where the sites' key files go (default: a temporary directory)
`

/** Entry point of `gridmesh market`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage)
    return sub === undefined ? 2 : 0
  }
  if (sub === 'demo') {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(demoHelp)
      return 0
    }
    const { runDemo } = await import('./runDemo.ts')
    return runDemo(rest)
  }
  throw new UsageError(`gridmesh market: unknown subcommand '${sub}'; expected one of: demo`)
}
