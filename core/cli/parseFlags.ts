import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from '../errors/BaseError.ts'

/** node:util parseArgs with our usage errors: `scan: Unknown option '--x'` and the help text. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, help: string) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(`${command}: ${(error as Error).message}\n\n${help}`)
  }
}

/** `5`, `5020-5029` or `1,2,10-12` as a sorted list of integers within [min, max]. */
export function parseIntegerList(flag: string, text: string, min: number, max: number): number[] {
  const out = new Set<number>()
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part)
    const from = m ? Number(m[1]) : NaN
    const to = m?.[2] !== undefined ? Number(m[2]) : from
    if (!m || from < min || to > max || from > to) {
      throw new UsageError(`--${flag}: expected a number or range within ${min}-${max} such as ${min} or ${min}-${Math.min(max, min + 9)}, got '${text}'`)
    }
    for (let v = from; v <= to; v++) out.add(v)
  }
  return [...out].sort((a, b) => a - b)
}

export function parseIntegerFlag(flag: string, text: string | undefined, min: number, max: number, fallback: number): number {
  if (text === undefined) return fallback
  const v = Number(text)
  if (!/^\d+$/.test(text.trim()) || v < min || v > max) throw new UsageError(`--${flag}: expected an integer from ${min} to ${max}, got '${text}'`)
  return v
}
