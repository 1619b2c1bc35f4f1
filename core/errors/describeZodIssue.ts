import type { z } from 'zod'
import { previewValue } from './previewValue.ts'

/** `devices[2].transport.unitId` from a zod issue path. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '')
}

/** One problem of a validated file as a user reads it: where, what was expected, what it got. */
export function describeZodIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatIssuePath(issue.path) || '(top level)'
  let got: unknown = input
  for (const key of issue.path) got = got && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[key] : undefined
  const gotText = `got ${got === undefined ? 'nothing' : previewValue(got)}`
  switch (issue.code) {
    case 'unrecognized_keys':
      return `${where}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
    case 'custom':
      return `${where}: ${issue.message}`
    case 'invalid_value':
      return `${where}: expected one of ${issue.values.map(String).join('|')}, ${gotText}`
    default:
      return `${where}: ${issue.message.replace(/^Invalid input: /, '')}, ${gotText}`
  }
}
