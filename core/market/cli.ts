// `gridmesh market <subcommand>`: peer-to-peer market tools.
import { UsageError } from '../errors/BaseError.ts'

const usage = `usage: gridmesh market <subcommand>

subcommands:
  demo --sites N --intervals N [--key-dir DIR] [--json]   sites trade on a local anvil chain
`

/** Entry point of `gridmesh market`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h') {
    process.stdout.write(usage)
    return sub === undefined ? 2 : 0
  }
  if (sub === 'demo') {
    const { runDemo } = await import('./runDemo.ts')
    return runDemo(rest)
  }
  throw new UsageError(`gridmesh market: unknown subcommand '${sub}'; expected one of: demo`)
}
