import { describe, expect, it } from 'vitest'
import { runFuzzTarget } from './fuzzSeed.ts'
import { modbusTargets } from './modbusFuzzTargets.ts'

// The pure Modbus parsers, a few thousand generated inputs each (a million each in
// bench/fuzz.bench.ts): no throw, no endless loop, every guarantee of modbusFuzzTargets.ts.
describe('Modbus frame parsers under fuzz', () => {
  it.each(modbusTargets.map((t) => [t.name, t] as const))('%s', (_name, target) => {
    // Bounded memory: what a parser keeps from one input must not pile up over thousands.
    expect(runFuzzTarget(target as Parameters<typeof runFuzzTarget>[0], 3000)).toBeLessThan(256 * 1024 * 1024)
  })
})
