// gridmesh plan --input FILE [--json] [--out FILE]: plans from an input file (format in
// README.md and plan-input.schema.json) and prints the plan.
import { readFile, rename, writeFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { formatCliError } from '../cli/formatCliError.ts'
import { UsageError } from '../errors/BaseError.ts'
import { PlanInputError } from './PlanInputError.ts'
import { parsePlanInput } from './parsePlanInput.ts'
import { planSchedule, type Plan } from './planSchedule.ts'

const USAGE = `usage: gridmesh plan --input FILE [--json] [--out FILE]

Plans battery charge/discharge, grid exchange, PV curtailment, flexible loads and
market quantities per slot with the MILP scheduler, and prints the plan.

options:
  --input FILE   plan input (JSON; format: core/schedule/README.md, plan-input.schema.json)
  --json         print the plan as JSON (default: a summary and a table)
  --out FILE     also write the plan JSON to FILE
  -h, --help     show this help

exit codes: 0 plan printed (also when goals are unmet: see unmetGoals), 1 bad input file, 2 usage error,
            3 the solver failed: the fallback plan (battery idle) was printed, the reason in unmetGoals
`

/** Runs `gridmesh plan`; returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  let options: { input?: string; json: boolean; out?: string; help: boolean }
  try {
    options = parseOptions(argv)
  } catch (error) {
    if (!(error instanceof UsageError)) throw error
    process.stderr.write(`${formatCliError(error)}\n\n${USAGE}`)
    return 2
  }
  if (options.help) {
    process.stdout.write(USAGE)
    return 0
  }
  let plan: Plan
  try {
    const input = await readInputFile(options.input!)
    plan = await planSchedule(input, { nowMs: Date.now() })
  } catch (error) {
    if (!(error instanceof PlanInputError)) throw error
    process.stderr.write(`${formatCliError(error)}\n`)
    return 1
  }
  const json = `${JSON.stringify(plan, null, 2)}\n`
  if (options.out !== undefined) {
    // Atomic: a reader never sees half a plan.
    const temporary = `${options.out}.${process.pid}.tmp`
    await writeFile(temporary, json)
    await rename(temporary, options.out)
  }
  process.stdout.write(options.json ? json : formatPlan(plan))
  // A fallback is no plan of the input's making: a script must not take it for one.
  return plan.status === 'fallback' ? 3 : 0
}

function parseOptions(argv: string[]) {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        input: { type: 'string' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }))
  } catch (error) {
    throw new UsageError(`plan: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (!values.help && (values.input === undefined || values.input === '')) {
    throw new UsageError('plan: --input FILE is required')
  }
  return { input: values.input, json: values.json ?? false, out: values.out, help: values.help ?? false }
}

async function readInputFile(path: string) {
  const source = path
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const problem = code === 'ENOENT' ? 'file not found' : `cannot read the file (${code ?? String(error)})`
    throw new PlanInputError({ source: path, problems: [`${problem}; expected a plan input JSON file`], cause: error })
  }
  let data: unknown
  try {
    data = JSON.parse(text)
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    throw new PlanInputError({ source, problems: [`(top level): expected JSON, the file does not parse: ${detail}`], cause: error })
  }
  return parsePlanInput(data, source)
}

function formatPlan(plan: Plan): string {
  const lines = [
    `plan: ${plan.slots.length} slots of ${plan.slotDurationMs / 60_000} min from ${new Date(plan.startMs).toISOString()}`,
    `status: ${plan.status}; objective (${plan.objective}): ${plan.objectiveValue ?? 'n/a'}; expected cost: ${plan.expectedCostEur.toFixed(4)} EUR`,
    ...plan.unmetGoals.map((goal) => `unmet goal: ${goal.message}`),
    ...plan.warnings.map((warning) => `warning: ${warning.message}`),
    '',
    ['slot start (UTC)    ', 'load W', 'pv W', 'curt W', 'batt W', 'grid W', 'soc %', 'flexible on'].map((h) => h.padStart(8)).join(' '),
  ]
  for (const slot of plan.slots) {
    const on = slot.flexibleLoads.filter((load) => load.on).map((load) => load.id)
    lines.push(
      [
        new Date(slot.startMs).toISOString().slice(0, 16).replace('T', ' ').padEnd(20),
        ...[slot.loadPowerW, slot.pvPowerW, slot.pvCurtailedW, slot.batteryPowerW, slot.gridPowerW].map((w) => Math.round(w).toString().padStart(8)),
        (slot.socPct === null ? '-' : slot.socPct.toFixed(1)).padStart(8),
        ` ${on.join(',')}`,
      ].join(' '),
    )
  }
  return `${lines.join('\n')}\n`
}
