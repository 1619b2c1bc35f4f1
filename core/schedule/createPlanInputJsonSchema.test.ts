import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { createPlanInputJsonSchema, PLAN_INPUT_JSON_SCHEMA_PATH } from './createPlanInputJsonSchema.ts'

describe('plan-input.schema.json', () => {
  it('is up to date with planInputSchema.ts (regenerate: node bin/run-ts.js core/schedule/createPlanInputJsonSchema.ts)', async () => {
    const committed = await readFile(PLAN_INPUT_JSON_SCHEMA_PATH, 'utf8')
    expect(committed).toBe(createPlanInputJsonSchema())
  })

  it('documents the per-slot fields and the defaults', () => {
    const schema = JSON.parse(createPlanInputJsonSchema())
    const slot = schema.properties.slots.items
    expect(Object.keys(slot.properties)).toEqual(
      expect.arrayContaining(['loadPowerW', 'pvPowerW', 'importPriceEurPerKWh', 'exportPriceEurPerKWh']),
    )
    expect(schema.properties.slotDurationMs.default).toBe(900_000)
    expect(schema.required).toEqual(['startMs', 'slots'])
  })
})
