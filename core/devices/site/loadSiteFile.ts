import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { parseDocument, stringify } from 'yaml'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import { BaseError } from '../../errors/BaseError.ts'
import { siteFileSchema, type SiteFile } from './siteFileSchema.ts'

export class SiteFileError extends BaseError {
  override name = 'SiteFileError' as const
  readonly problems: string[]
  constructor({ file, problems, cause }: { file: string; problems: string[]; cause?: unknown }) {
    super(`${file}: invalid site file`, { metaMessages: problems, details: problems.join('; '), cause })
    this.problems = problems
  }
}

/** Reads and validates a site file (YAML or JSON); every problem is listed with its path. */
export function loadSiteFile(file: string): SiteFile {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (cause) {
    throw new SiteFileError({ file, problems: [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`], cause })
  }
  const doc = parseDocument(text)
  if (doc.errors.length) throw new SiteFileError({ file, problems: doc.errors.map((e) => `YAML ${e.message.split('\n')[0]}`) })
  const input: unknown = doc.toJS()
  const result = siteFileSchema.safeParse(input)
  if (!result.success) throw new SiteFileError({ file, problems: result.error.issues.map((i) => describeZodIssue(i, input)) })
  return result.data
}

/** Writes a site file atomically: a temporary file, then a rename, so a crash never leaves half a file. */
export function writeSiteFile(file: string, site: SiteFile, header = ''): void {
  const checked = siteFileSchema.parse(site)
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, header + stringify(checked))
  renameSync(tmp, file)
}
