import { readFileSync } from 'node:fs'
import { basename } from 'node:path'
import { describeZodIssue } from '../../errors/describeZodIssue.ts'
import { ProfileFileError } from './errors.ts'
import { profileSchema, type Profile } from './profileSchema.ts'

/** Parses and validates profile JSON text; `file` names it in messages. Throws ProfileFileError listing every problem. */
export function parseProfile(text: string, file: string): Profile {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (cause) {
    throw new ProfileFileError({ file, problems: [`not JSON: ${(cause as Error).message}`], cause })
  }
  const result = profileSchema.safeParse(input)
  if (!result.success) throw new ProfileFileError({ file, problems: result.error.issues.map((issue) => describeZodIssue(issue, input)) })
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
