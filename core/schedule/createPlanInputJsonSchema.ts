// Run `node bin/run-ts.js core/schedule/createPlanInputJsonSchema.ts` to rewrite
// plan-input.schema.json after changing planInputSchema.ts; a test checks it is current.
import { writeFile } from 'node:fs/promises'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { z } from 'zod'
import { PlanInputSchema } from './planInputSchema.ts'

export const PLAN_INPUT_JSON_SCHEMA_PATH = fileURLToPath(new URL('./plan-input.schema.json', import.meta.url))

/** The JSON Schema (draft 2020-12) of the plan input file, as formatted text. */
export function createPlanInputJsonSchema(): string {
  const schema = z.toJSONSchema(PlanInputSchema, { io: 'input', unrepresentable: 'any' })
  const document = {
    $schema: schema.$schema,
    $id: 'https://gridmesh.dev/schemas/plan-input.schema.json',
    title: 'GridMesh plan input',
    description: 'Input of `gridmesh plan --input FILE` and planSchedule(); generated from core/schedule/planInputSchema.ts',
    ...schema,
  }
  return `${JSON.stringify(document, null, 2)}\n`
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await writeFile(PLAN_INPUT_JSON_SCHEMA_PATH, createPlanInputJsonSchema())
  process.stdout.write(`wrote ${PLAN_INPUT_JSON_SCHEMA_PATH}\n`)
}
