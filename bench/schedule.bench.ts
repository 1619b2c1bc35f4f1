// MILP plan solve time for 96 slots (a day) and 672 slots (a week) of 15 minutes on the
// demo-like scenario (house, PV, 10 kWh battery, two flexible loads, peak charge, grid
// limits, end SoC target). Measures planSchedule end to end (validation, model build,
// solve, plan), median over several seeds, wall and CPU time; baselines measured in
// the same run: the plain MILP (every direction variable binary from the start) and
// the first, cold solve (wasm load included). The machine is shared: compare the CPU
// medians when the wall times look inflated.
// Last stdout line: {"bench":"schedule","results":{...},"ratios":{...},"targets":{...}}
import { cpus, loadavg } from 'node:os'
import { planSchedule, type Plan } from '../core/schedule/planSchedule.ts'
import { createScenario } from '../test/fixtures/schedule/createScenario.ts'

type Sample = { wallMs: number; cpuMs: number; plan: Plan }

async function measure(
  slotCount: number,
  seed: number,
  allBinary: boolean,
  solver?: { timeLimitMs?: number; mipAbsGap?: number },
): Promise<Sample> {
  const input = createScenario({ slotCount, seed })
  if (solver !== undefined) input.solver = solver
  const cpu = process.cpuUsage()
  const started = performance.now()
  const plan = await planSchedule(input, { allBinary })
  const wallMs = performance.now() - started
  const used = process.cpuUsage(cpu)
  return { wallMs, cpuMs: (used.user + used.system) / 1000, plan }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const round = (value: number) => Math.round(value * 10) / 10

const cold = await measure(96, 1000, false)
process.stderr.write(`cold start (wasm load + first solve), 96 slots: ${round(cold.wallMs)} ms\n`)

const results: Record<string, number | string> = { coldStart96Ms: round(cold.wallMs) }
const loadAtStart = loadavg()[0]!
const ratios: Record<string, number> = {}
const plans: Record<number, Sample[]> = {}
// Warm-up: V8 compiles the HiGHS wasm with its baseline tier first and optimises hot
// functions in the background (slowly on a busy machine); a long-running controller
// re-plans on the optimised code. The cold start above is the one-time cost.
for (let i = 0; i < 30; i++) await measure(96, 900 + i, false)
for (let i = 0; i < 3; i++) await measure(672, 900 + i, false)
await measure(24, 900, true)

const configs = [
  { slotCount: 96, runs: 21, baselineRuns: 7, baselineLimitMs: 10_000 },
  { slotCount: 672, runs: 9, baselineRuns: 3, baselineLimitMs: 5_000 },
]
for (const { slotCount, runs, baselineRuns, baselineLimitMs } of configs) {
  const samples: Sample[] = []
  for (let seed = 1; seed <= runs; seed++) samples.push(await measure(slotCount, seed, false))
  plans[slotCount] = samples
  const baseline: Sample[] = []
  for (let seed = 1; seed <= baselineRuns; seed++) baseline.push(await measure(slotCount, seed, true, { timeLimitMs: baselineLimitMs }))
  // The same plans with the gap at 0.0001 EUR instead of the default 0.01 EUR.
  const strict: Sample[] = []
  for (let seed = 1; seed <= baselineRuns; seed++) strict.push(await measure(slotCount, seed, false, { mipAbsGap: 1e-4 }))
  results[`plan${slotCount}StrictGapMedianMs`] = round(median(strict.map((s) => s.wallMs)))
  const wall = median(samples.map((s) => s.wallMs))
  const baselineWall = median(baseline.map((s) => s.wallMs))
  results[`plan${slotCount}MedianMs`] = round(wall)
  results[`plan${slotCount}CpuMedianMs`] = round(median(samples.map((s) => s.cpuMs)))
  results[`plan${slotCount}MaxMs`] = round(Math.max(...samples.map((s) => s.wallMs)))
  results[`plan${slotCount}Runs`] = runs
  results[`plan${slotCount}Statuses`] = [...new Set(samples.map((s) => s.plan.status))].join(',')
  results[`plan${slotCount}MedianRounds`] = median(samples.map((s) => s.plan.solveStats.rounds))
  results[`plainMilp${slotCount}MedianMs`] = round(baselineWall)
  results[`plainMilp${slotCount}Statuses`] = [...new Set(baseline.map((s) => s.plan.status))].join(',')
  // Same seeds: the relaxation-first plan may be worse than the plain MILP's only by the MIP gap.
  const gapEur = 0.01 + 1e-6
  const worse = baseline.filter((b, i) => (samples[i]!.plan.objectiveValue ?? Infinity) > (b.plan.objectiveValue ?? Infinity) + gapEur)
  results[`plan${slotCount}WorseThanPlainMilp`] = worse.length
  ratios[`plan${slotCount}VsPlainMilp`] = Math.round((wall / baselineWall) * 1000) / 1000
  ratios[`plan${slotCount}VsColdStart96`] = Math.round((wall / cold.wallMs) * 1000) / 1000
  process.stderr.write(
    `${slotCount} slots: median ${round(wall)} ms (cpu ${results[`plan${slotCount}CpuMedianMs`]} ms) over ${runs} seeds; plain MILP median ${round(baselineWall)} ms\n`,
  )
}

// Wall times on a shared machine: the 1-minute load average over the cores says how shared.
results.loadAverage1mStart = Math.round(loadAtStart * 100) / 100
results.loadAverage1mEnd = Math.round(loadavg()[0]! * 100) / 100
results.cores = cpus().length

const targets = {
  plan96MedianMs: { max: 50, value: results.plan96MedianMs, met: (results.plan96MedianMs as number) < 50 },
  plan672MedianMs: { max: 1000, value: results.plan672MedianMs, met: (results.plan672MedianMs as number) < 1000 },
}
process.stdout.write(`${JSON.stringify({ bench: 'schedule', results, ratios, targets })}\n`)
