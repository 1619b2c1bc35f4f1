import { BaseError } from '../errors/BaseError.ts'

/** A plan input file or object that does not match the schema; names the source, the path and what was expected. */
export class PlanInputError extends BaseError {
  override name = 'PlanInputError' as const
  readonly source: string
  readonly problems: string[]

  constructor({ source, problems, cause }: { source: string; problems: string[]; cause?: unknown }) {
    const [first = 'invalid input', ...rest] = problems
    super(`${source}: ${first}`, {
      cause,
      metaMessages: rest.length ? rest.map((problem) => `${source}: ${problem}`) : undefined,
    })
    this.source = source
    this.problems = problems
  }
}
