import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import type { z } from 'zod'
import { BaseError } from '../../core/errors/BaseError.ts'
import { siteSchema, type SiteConfig } from './siteSchema.ts'

export class SiteFileError extends BaseError {
  override name = 'SiteFileError' as const
  readonly file: string
  readonly problems: string[]
  constructor({ file, problems, cause }: { file: string; problems: string[]; cause?: unknown }) {
    super(`${file}: invalid site file`, { metaMessages: problems, cause, details: problems.join('; ') })
    this.file = file
    this.problems = problems
  }
}

/** `devices[2].transport.unitId` from a zod issue path. */
function formatPath(path: PropertyKey[]): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '')
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string {
  const where = formatPath(issue.path) || '(top level)'
  let got: unknown = input
  for (const key of issue.path) got = got && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[key] : undefined
  const gotText = issue.code === 'unrecognized_keys' ? '' : `, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`
  if (issue.code === 'unrecognized_keys') return `${where}: unknown field(s) ${issue.keys.map((k) => `'${k}'`).join(', ')}`
  if (issue.code === 'custom') return `${where}: ${issue.message}`
  return `${where}: ${issue.message.replace(/^Invalid input: /, '')}${gotText}`
}

/** Parses and validates site YAML text; `file` names it in messages. Throws SiteFileError listing every problem. */
export function parseSite(text: string, file: string): SiteConfig {
  const doc = parseDocument(text, { prettyErrors: true })
  if (doc.errors.length) {
    throw new SiteFileError({ file, problems: doc.errors.map((e) => `YAML ${e.message.split('\n')[0]}`) })
  }
  const input: unknown = doc.toJS()
  const result = siteSchema.safeParse(input)
  if (!result.success) {
    throw new SiteFileError({ file, problems: result.error.issues.map((issue) => describeIssue(issue, input)) })
  }
  return result.data
}

/** Reads, parses and validates a site file. */
export function loadSite(file: string): SiteConfig {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new SiteFileError({ file, problems: [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`], cause })
  }
  return parseSite(text, file)
}
