import type { z } from 'zod'
import { PlanInputError } from './PlanInputError.ts'
import { PlanInputSchema, type PlanInput } from './planInputSchema.ts'

/** Validates untrusted data (a parsed JSON file, an API body) as a plan input; throws PlanInputError naming each bad path. */
export function parsePlanInput(data: unknown, source = 'input'): PlanInput {
  const result = PlanInputSchema.safeParse(data, { reportInput: true })
  if (result.success) return result.data
  throw new PlanInputError({ source, problems: onePerPath(result.error.issues).map(formatIssue) })
}

/** An integer field past its bound fails zod's safe-integer check too; the bound with its unit says more. */
function onePerPath(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const tooBig = new Set(issues.filter((i) => (i.code === 'too_big' || i.code === 'too_small') && i.message.startsWith('expected ')).map((i) => formatPath(i.path)))
  return issues.filter((i) => !((i.code === 'too_big' || i.code === 'too_small') && !i.message.startsWith('expected ') && tooBig.has(formatPath(i.path))))
}

function formatIssue(issue: z.core.$ZodIssue): string {
  return `${formatPath(issue.path)}: ${describeIssue(issue)}`
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)'
  let text = ''
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`
    else text += text === '' ? String(key) : `.${String(key)}`
  }
  return text
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const input = 'input' in issue ? issue.input : undefined
  const got = 'input' in issue ? `, got ${describeValue(input)}` : ', got nothing (missing)'
  switch (issue.code) {
    case 'invalid_type': {
      const received = 'received' in issue ? String((issue as { received?: unknown }).received) : undefined
      if (received === 'Infinity' || received === 'NaN') return `expected a finite number, got ${received}`
      return `expected ${article(issue.expected)}${got}`
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum
      const inclusive = issue.inclusive !== false
      if (issue.origin === 'array' || issue.origin === 'string') {
        const count = issue.origin === 'array' ? 'items' : 'characters'
        const length = Array.isArray(input) || typeof input === 'string' ? input.length : undefined
        const relation = issue.code === 'too_small' ? 'at least' : 'at most'
        return `expected ${relation} ${String(bound)} ${count}${length === undefined ? '' : `, got ${length}`}`
      }
      // The schema's bounds carry their unit in the message (planInputSchema.ts).
      if (issue.message.startsWith('expected ')) return `${issue.message}${got}`
      const op = issue.code === 'too_small' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<'
      return `expected a number ${op} ${String(bound)}${got}`
    }
    case 'invalid_value':
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(' or ')}${got}`
    case 'unrecognized_keys':
      return `unexpected key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} (see plan-input.schema.json for the known keys)`
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}${got}`
    default:
      return issue.message
  }
}

function article(expected: string): string {
  if (expected === 'int') return 'an integer'
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (missing)'
  if (value === null) return 'null'
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`
  if (Array.isArray(value)) return `an array of ${value.length}`
  if (typeof value === 'object') return 'an object'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  return typeof value
}
