import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import type { z } from 'zod'
import { ProfileFileError } from './errors.ts'
import { profileSchema, type Profile } from './profileSchema.ts'

/** `readings[3].type` from a zod issue path. */
function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '')
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatPath(issue.path) || '(top level)'
  let got: unknown = input
  for (const key of issue.path) got = got && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[key] : undefined
  const gotText = `got ${got === undefined ? 'nothing' : JSON.stringify(got)}`
  switch (issue.code) {
    case 'unrecognized_keys': return `${where}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
    case 'custom': return `${where}: ${issue.message}`
    case 'invalid_value': return `${where}: expected one of ${issue.values.map(String).join('|')}, ${gotText}`
    default: return `${where}: ${issue.message.replace(/^Invalid input: /, '')}, ${gotText}`
  }
}

/** Parses and validates profile JSON text; `file` names it in messages. Throws ProfileFileError listing every problem. */
export function parseProfile(text: string, file: string): Profile {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (cause) {
    throw new ProfileFileError({ file, problems: [`not JSON: ${(cause as Error).message}`], cause })
  }
  const result = profileSchema.safeParse(input)
  if (!result.success) throw new ProfileFileError({ file, problems: result.error.issues.map((issue) => describeIssue(issue, input)) })
  const expectedId = basename(file).replace(/\.json$/, '')
  if (result.data.id !== expectedId) throw new ProfileFileError({ file, problems: [`id: expected '${expectedId}' (the file's name), got '${result.data.id}'`] })
  return result.data
}

/** Reads and validates one profile file (the file is named after the profile id). */
export function loadProfile(file: string): Profile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new ProfileFileError({ file: basename(file), problems: [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`], cause })
  }
  return parseProfile(text, basename(file))
}
