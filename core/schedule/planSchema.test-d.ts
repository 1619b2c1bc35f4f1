import { expectTypeOf, test } from 'vitest'
import type { z } from 'zod'
import type { PlanSchema } from './planSchema.ts'
import type { Plan } from './planSchedule.ts'

test('PlanSchema describes exactly the Plan that planSchedule returns', () => {
  expectTypeOf<z.infer<typeof PlanSchema>>().toEqualTypeOf<Plan>()
})
