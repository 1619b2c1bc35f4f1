import { parseFlags, parseIntegerFlag } from '../cli/parseFlags.ts'
import { UsageError } from '../errors/BaseError.ts'
import { formatSoakReport } from './formatSoakReport.ts'
import { runSoak } from './runSoak.ts'

const help = `usage: gridmesh soak [--days N] [--faults N] [--seed S] [--cycle-s N] [--json]

The fault campaign (issue 11): the site service, composed as 'gridmesh serve' composes
it and run in its own process, against the hardware simulator (another process) under a
stepped simulated clock, while a seeded schedule injects faults: Modbus timeouts,
exception answers, disconnects, garbage frames, frozen and not-implemented (NaN) values,
device trips, slow devices, a failing forecast or plan, and kill -9 of the service with
a restart on the same data folder. Prints what it found: faults by kind, setpoints
outside the envelope, SoC outside limits in the simulator's truth, crashes, time to
detect and to recover (p50/p99, simulated seconds), alarms, rows lost after kill -9.
The same seed gives the same schedule and, apart from wall time, the same figures.
Exits 1 when a must-be-zero figure is not zero. See core/soak/README.md.

  --days N      simulated days (default 1; fractions allowed, at least 0.1)
  --faults N    faults to inject over the run (default 200)
  --seed S      seed of the fault schedule, the garbage frames and the weather (default 1)
  --cycle-s N   control cycle in simulated seconds (default 30)
  --json        the figures as JSON on stdout
`

export async function run(argv: string[]): Promise<number> {
  const flags = parseFlags('soak', argv, { days: { type: 'string' }, faults: { type: 'string' }, seed: { type: 'string' }, 'cycle-s': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, help)
  if (flags.help) {
    process.stdout.write(help)
    return 0
  }
  let days = 1
  if (flags.days !== undefined) {
    days = Number(flags.days)
    if (flags.days.trim() === '' || !Number.isFinite(days) || days < 0.1 || days > 366) throw new UsageError(`soak: --days: expected a number of days from 0.1 to 366, got '${flags.days}'`)
  }
  const faults = parseIntegerFlag('faults', flags.faults, 0, 1_000_000, 200)
  const seed = parseIntegerFlag('seed', flags.seed, 0, 2 ** 31 - 1, 1)
  const cycleS = parseIntegerFlag('cycle-s', flags['cycle-s'], 5, 55, 30)
  // The first and last hour stay quiet (planFaults); at most one fault starts per cycle.
  const maxFaults = Math.floor((days * 86_400 - 7200) / cycleS) - 2
  if (faults > maxFaults) throw new UsageError(`soak: --faults: ${faults} faults do not fit ${days} day(s) of ${cycleS} s cycles (the first and last hour are quiet, at most one fault starts per cycle); expected at most ${Math.max(0, maxFaults)}`)
  const say = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`)
  // Ctrl-C ends the run between two cycles, so the simulator and the service are stopped too.
  const interrupt = new AbortController()
  const stop = () => interrupt.abort()
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  const figures = await runSoak({ days, faults, seed, cycleS, onProgress: say, signal: interrupt.signal }).finally(() => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  })
  process.stdout.write(flags.json ? `${JSON.stringify(figures, null, 2)}\n` : formatSoakReport(figures))
  const mustBeZero = figures.setpointsOutsideEnvelope.total + figures.socOutsideLimits.cycles + figures.crashes + figures.rowsLost
  return mustBeZero === 0 ? 0 : 1
}
