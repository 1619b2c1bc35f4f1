import { renameSync, writeFileSync } from 'node:fs'
import { stringify } from 'yaml'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import { InputError } from '../../errors/BaseError.ts'
import { maxYamlBytes, parseYamlText, YamlTextError } from './parseYamlText.ts'
import { readBoundedTextFile } from './readBoundedTextFile.ts'
import { siteFileSchema, type SiteFile } from './siteFileSchema.ts'

export class SiteFileError extends InputError {
  override name = 'SiteFileError' as const
  readonly problems: string[]
  constructor({ file, problems, cause }: { file: string; problems: string[]; cause?: unknown }) {
    super(`${file}: invalid site file`, { metaMessages: problems, details: problems.join('; '), cause })
    this.problems = problems
  }
}

/** Reads and validates a site file (YAML or JSON); every problem is listed with its path. */
export function loadSiteFile(file: string): SiteFile {
  let text: string | undefined
  try {
    text = readBoundedTextFile(file, maxYamlBytes)
  } catch (cause) {
    throw new SiteFileError({ file, problems: [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`], cause })
  }
  if (text === undefined) throw new SiteFileError({ file, problems: ['the file is larger than 1 MiB; expected a site file of at most 1 MiB'] })
  return parseSiteFile(text, file)
}

/** Parses and validates site file text (YAML or JSON); `file` names it in messages. Throws SiteFileError listing every problem. */
export function parseSiteFile(text: string, file: string): SiteFile {
  let input: unknown
  try {
    input = parseYamlText(text)
  } catch (cause) {
    if (cause instanceof YamlTextError) throw new SiteFileError({ file, problems: cause.problems, cause })
    throw cause
  }
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
