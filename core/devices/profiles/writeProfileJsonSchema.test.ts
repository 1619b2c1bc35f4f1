import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { profileJsonSchemaFile, profileJsonSchemaText } from './writeProfileJsonSchema.ts'

describe('profile.schema.json', () => {
  it('is what the zod schema generates (run: npx tsx core/devices/profiles/writeProfileJsonSchema.ts)', () => {
    expect(readFileSync(profileJsonSchemaFile, 'utf8')).toBe(profileJsonSchemaText())
  })

  it('describes the point types and refuses unknown fields, for editors', () => {
    const schema = JSON.parse(profileJsonSchemaText()) as { additionalProperties: boolean; required: string[] }
    expect(schema.additionalProperties).toBe(false)
    expect(schema.required).toEqual(expect.arrayContaining(['id', 'manufacturer', 'products', 'protocol', 'defaults', 'capabilities', 'roles']))
    expect(profileJsonSchemaText()).toContain('"float32"')
  })
})
