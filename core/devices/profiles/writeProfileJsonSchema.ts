// Writes core/devices/profiles/profile.schema.json from the zod schema, for editors:
//   npx tsx core/devices/profiles/writeProfileJsonSchema.ts
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { profileJsonSchema } from './profileSchema.ts'

export const profileJsonSchemaFile = fileURLToPath(new URL('./profile.schema.json', import.meta.url))

/** The JSON Schema file's text, exactly as committed. */
export function profileJsonSchemaText(): string {
  return `${JSON.stringify(profileJsonSchema(), null, 2)}\n`
}

/** Writes the JSON Schema file (atomically enough for a generated file: one write). */
export function writeProfileJsonSchema(file: string = profileJsonSchemaFile): void {
  writeFileSync(file, profileJsonSchemaText())
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeProfileJsonSchema()
  process.stdout.write(`wrote ${profileJsonSchemaFile}\n`)
}
