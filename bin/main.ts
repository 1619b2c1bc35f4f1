// Dispatches `gridmesh <command>` to the module that owns the command. Each module
// exports `run(argv): Promise<number>` (the exit code); modules load lazily so one
// command never pays for another's dependencies (TensorFlow, the chain client, ...).
import { formatCliError } from '../core/cli/formatCliError.ts'
import { InputError, UsageError } from '../core/errors/BaseError.ts'

type CommandModule = { run: (argv: string[]) => Promise<number> }

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  demo: {
    summary: 'the embedded demo microgrid: simulated hardware and the controller, planning and storing',
    load: () => import('../core/demo/siteDemoCli.ts'),
  },
  serve: {
    summary: 'run a site as a service: control loop, forecast, plan, store and the HMI API on 127.0.0.1',
    load: () => import('../core/api/cli.ts'),
  },
  sim: {
    summary: 'serve simulated inverter, battery and meter over real Modbus (TCP/RTU)',
    load: () => import('../hardware-sims/cli.ts'),
  },
  scan: {
    summary: 'find Modbus devices (SunSpec or a profile) and print an inventory or a site file',
    load: () => import('../core/devices/cli/scan.ts'),
  },
  read: {
    summary: 'read every point of one device of a site file',
    load: () => import('../core/devices/cli/read.ts'),
  },
  commission: {
    summary: 'check every device of a site, test-write the controllable ones, write a report',
    load: () => import('../core/devices/cli/commission.ts'),
  },
  forecast: {
    summary: 'train, evaluate and run the load forecast (train | eval | predict)',
    load: () => import('../core/forecast/cli.ts'),
  },
  plan: {
    summary: 'plan battery charge/discharge for an input file with the MILP scheduler',
    load: () => import('../core/schedule/cli.ts'),
  },
  export: {
    summary: 'export telemetry, writes, alarms, plans or forecasts from the store as CSV',
    load: () => import('../core/store/cli.ts'),
  },
  backtest: {
    summary: 'run the controller against the simulator under a virtual clock, with reference runs',
    load: () => import('../core/control/backtest/cli.ts'),
  },
  soak: {
    summary: 'the fault campaign: the site service against the simulator under injected faults, with figures',
    load: () => import('../core/soak/cli.ts'),
  },
  users: {
    summary: "the HMI's named accounts: add NAME --role viewer|operator|installer, list, remove NAME",
    load: () => import('../core/api/auth/cli.ts'),
  },
  market: {
    summary: 'peer-to-peer market: keys and register (provisioning), demo',
    load: () => import('../core/demo/marketCli.ts'),
  },
  operator: {
    summary: "the live market's clearing operator: clears, commits, settles and finalizes every interval",
    load: () => import('../core/trading/operatorCli.ts'),
  },
}

function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length))
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  return `usage: gridmesh <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'gridmesh <command> --help' for a command's options.\n`
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage())
    return name === undefined ? 2 : 0
  }
  const command = commands[name]
  if (!command) {
    process.stderr.write(`gridmesh: unknown command '${name}'; expected one of: ${Object.keys(commands).join(', ')}\n`)
    return 2
  }
  const module = await command.load()
  return module.run(rest)
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`${formatCliError(error)}\n`)
    process.exitCode = error instanceof UsageError || error instanceof InputError ? 2 : 1
  },
)
