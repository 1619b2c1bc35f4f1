import { InputError } from '../../core/errors/BaseError.ts'
import { describeZodIssue } from '../../core/errors/describeZodIssue.ts'
import { maxYamlBytes, parseYamlText, YamlTextError } from '../../core/devices/site/parseYamlText.ts'
import { readBoundedTextFile } from '../../core/devices/site/readBoundedTextFile.ts'
import { siteSchema, type SiteConfig } from './siteSchema.ts'

export class SiteFileError extends InputError {
  override name = 'SiteFileError' as const
  readonly file: string
  readonly problems: string[]
  constructor({ file, problems, cause }: { file: string; problems: string[]; cause?: unknown }) {
    super(`${file}: invalid site file`, { metaMessages: problems, cause, details: problems.join('; ') })
    this.file = file
    this.problems = problems
  }
}

/** Parses and validates site YAML text; `file` names it in messages. Throws SiteFileError listing every problem. */
export function parseSite(text: string, file: string): SiteConfig {
  // The same guarded reader as core's site files (size, depth, alias bombs): pure text to data.
  let input: unknown
  try {
    input = parseYamlText(text)
  } catch (cause) {
    if (cause instanceof YamlTextError) throw new SiteFileError({ file, problems: cause.problems, cause })
    throw cause
  }
  const result = siteSchema.safeParse(input)
  if (!result.success) {
    throw new SiteFileError({ file, problems: result.error.issues.map((issue) => describeZodIssue(issue, input)) })
  }
  return result.data
}

/** Reads, parses and validates a site file. */
export function loadSite(file: string): SiteConfig {
  let text: string | undefined
  try {
    text = readBoundedTextFile(file, maxYamlBytes)
  } catch (cause) {
    throw new SiteFileError({ file, problems: [`cannot read the file (${(cause as NodeJS.ErrnoException).code ?? 'error'})`], cause })
  }
  if (text === undefined) throw new SiteFileError({ file, problems: ['the file is larger than 1 MiB; expected a site file of at most 1 MiB'] })
  return parseSite(text, file)
}
