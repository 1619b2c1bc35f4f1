// Pins the public surface of core/schedule: control, API and HMI code import these.
import { expect, it } from 'vitest'

it('core/schedule exports', async () => {
  const modules = {
    planSchedule: await import('./planSchedule.ts'),
    planSchema: await import('./planSchema.ts'),
    shouldReplan: await import('./shouldReplan.ts'),
    planInputSchema: await import('./planInputSchema.ts'),
    parsePlanInput: await import('./parsePlanInput.ts'),
    errors: await import('./PlanInputError.ts'),
    cli: await import('./cli.ts'),
  }
  const surface = Object.fromEntries(Object.entries(modules).map(([name, module]) => [name, Object.keys(module).sort()]))
  expect(surface).toEqual({
    planSchedule: ['PLAN_VERSION', 'planSchedule'],
    planSchema: ['PlanSchema'],
    shouldReplan: ['DEFAULT_REPLAN_THRESHOLDS', 'shouldReplan'],
    planInputSchema: [
      'BatteryInputSchema',
      'FlexibleLoadInputSchema',
      'GridInputSchema',
      'PenaltiesInputSchema',
      'PlanInputSchema',
      'PlanSlotInputSchema',
      'SolverInputSchema',
    ],
    parsePlanInput: ['parsePlanInput'],
    errors: ['PlanInputError'],
    cli: ['run'],
  })
})
