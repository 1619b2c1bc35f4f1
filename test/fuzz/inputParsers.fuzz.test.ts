import { describe, expect, it } from 'vitest'
import { runFuzzTarget } from './fuzzSeed.ts'
import { inputTargets } from './inputFuzzTargets.ts'

// Site files, profiles, load CSVs, plan inputs and the market's signed orders and
// readings, a few hundred generated inputs each (more in bench/fuzz.bench.ts).
describe('input parsers under fuzz', () => {
  it.each(inputTargets.map((t) => [t.name, t] as const))('%s', (_name, target) => {
    // Bounded memory: what a parser keeps from one input must not pile up over thousands.
    expect(runFuzzTarget(target as Parameters<typeof runFuzzTarget>[0], 400)).toBeLessThan(256 * 1024 * 1024)
  })
})
