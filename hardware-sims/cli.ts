import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'
import { UsageError } from '../core/errors/BaseError.ts'
import { loadSite } from './site/loadSite.ts'
import { startSimulator } from './startSimulator.ts'

const help = `usage: gridmesh sim [--site FILE] [--speed N] [--seed N] [--start ISO-TIME]

Serves the site's simulated inverter, battery and meter over real Modbus (TCP/RTU)
until SIGINT or SIGTERM. Without --site: the bundled demo site.

  --site FILE    site file (YAML), see hardware-sims/sites/demo.yaml
  --speed N      time warp: simulated seconds per real second (0 = paused; default: the site's clock.speed)
  --seed N       seed of the cloud process (default 1)
  --start TIME   where the simulated clock starts, ISO 8601 (default: the site's clock.start, else now)

Prints one JSON line per device when it is served, then {"event":"api","url":...}.
`

const defaultSite = fileURLToPath(new URL('./sites/demo.yaml', import.meta.url))

function numberFlag(name: string, text: string | undefined, min: number, max: number, integer = false): number | undefined {
  if (text === undefined) return undefined
  const value = Number(text)
  if (text.trim() === '' || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new UsageError(`sim: --${name}: expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got '${text}'`)
  }
  return value
}

export async function run(argv: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: { site: { type: 'string' }, speed: { type: 'string' }, seed: { type: 'string' }, start: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    throw new UsageError(`sim: ${(error as Error).message}\n\n${help}`)
  }
  if (values.help) {
    process.stdout.write(help)
    return 0
  }
  const speed = numberFlag('speed', values.speed, 0, 1_000_000)
  const seed = numberFlag('seed', values.seed, 0, 2 ** 31 - 1, true)
  let startMs: number | undefined
  if (values.start !== undefined) {
    startMs = Date.parse(values.start)
    if (!/^\d{4}-\d\d-\d\dT/.test(values.start) || Number.isNaN(startMs)) throw new UsageError(`sim: --start: expected an ISO 8601 time such as 2013-01-15T00:00:00Z, got '${values.start}'`)
  }
  const site = loadSite(values.site ?? defaultSite)
  const sim = await startSimulator(site, { speed, seed, startMs })
  for (const line of sim.ready) process.stdout.write(`${JSON.stringify(line)}\n`)
  process.stdout.write(`${JSON.stringify({ event: 'api', url: sim.apiUrl })}\n`)
  process.stderr.write(`sim: serving ${sim.ready.length} device(s) of site '${site.name}' at ${sim.clock.speed}x; control API ${sim.apiUrl}\n`)

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`sim: ${signal}: stopping\n`)
      resolve()
    }
    process.once('SIGINT', () => stop('SIGINT'))
    process.once('SIGTERM', () => stop('SIGTERM'))
  })
  await sim.close()
  return 0
}
