// The loop hands the store what other capabilities produce, unchanged.
import { expectTypeOf, it } from 'vitest'
import type { WriteResult } from '../devices/capabilities.ts'
import type { Plan } from '../schedule/planSchedule.ts'
import type { Store } from './createStore.ts'

it('takes a Plan and a WriteResult as they are', () => {
  expectTypeOf<Plan>().toExtend<Parameters<Store['savePlan']>[0]>()
  expectTypeOf<WriteResult & { timeMs: number; device: string; reason: string }>().toExtend<Parameters<Store['recordWrite']>[0]>()
})
