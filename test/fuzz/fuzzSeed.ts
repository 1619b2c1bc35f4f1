// One seed for every fuzz run, printed so a failure can be replayed:
// GRIDMESH_FUZZ_SEED=<seed> npx vitest run test/fuzz (or bench/fuzz.bench.ts).
import fc from 'fast-check'
import type { FuzzTarget } from './modbusFuzzTargets.ts'

const fromEnv = process.env.GRIDMESH_FUZZ_SEED
/** Fixed unless GRIDMESH_FUZZ_SEED says otherwise: CI runs the same inputs every time. */
export const fuzzSeed = fromEnv === undefined || fromEnv === '' ? 20_261_202 : Number(fromEnv)
if (!Number.isSafeInteger(fuzzSeed)) throw new Error(`GRIDMESH_FUZZ_SEED: expected an integer, got '${fromEnv}'`)

/**
 * Runs a pure target for numRuns inputs under the seed; fast-check reports the seed and the
 * shrunk counterexample on failure. Returns how much the process's RSS grew meanwhile.
 */
export function runFuzzTarget<T>(target: FuzzTarget<T>, numRuns: number, seed = fuzzSeed): number {
  process.stdout.write(`fuzz ${target.name}: ${numRuns} inputs, seed ${seed}\n`)
  const rssBefore = process.memoryUsage().rss
  fc.assert(
    fc.property(target.arbitrary, (input) => {
      target.check(input)
    }),
    { seed, numRuns },
  )
  return process.memoryUsage().rss - rssBefore
}
