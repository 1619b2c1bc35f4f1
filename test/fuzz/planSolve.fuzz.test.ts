import fc from 'fast-check'
import { describe, it } from 'vitest'
import { fuzzSeed } from './fuzzSeed.ts'
import { checkPlanSolve, planSolveInput } from './planSolveFuzz.ts'

describe('plan inputs at the schema bounds, solved', { timeout: 120_000 }, () => {
  it('planSchedule returns a plan of its own making for every accepted input', async () => {
    process.stdout.write(`fuzz plan-solve: seed ${fuzzSeed}\n`)
    await fc.assert(fc.asyncProperty(planSolveInput, checkPlanSolve), { seed: fuzzSeed, numRuns: 30, timeout: 30_000 })
  })
})
