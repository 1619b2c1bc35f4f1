import { BaseError, InputError } from '../errors/BaseError.ts'

/** A load CSV that cannot be used: says which file, which row (1-based line, header = 1), which column, and what was expected. */
export class LoadCsvError extends InputError {
  override name = 'LoadCsvError' as const
  readonly file: string
  readonly row: number | undefined
  readonly column: string | undefined

  constructor(parameters: { file: string; row?: number | undefined; column?: string | undefined; problem: string; expected?: string | undefined; metaMessages?: string[] | undefined }) {
    const where = [parameters.file, parameters.row === undefined ? undefined : `row ${parameters.row}`, parameters.column === undefined ? undefined : `column '${parameters.column}'`]
      .filter((part) => part !== undefined)
      .join(': ')
    const expected = parameters.expected ? `; expected ${parameters.expected}` : ''
    super(`${where}: ${parameters.problem}${expected}`, { metaMessages: parameters.metaMessages })
    this.file = parameters.file
    this.row = parameters.row
    this.column = parameters.column
  }
}

/** Training could not produce a usable model; the previous model (if any) is left as it was. */
export class ForecastTrainingError extends BaseError {
  override name = 'ForecastTrainingError' as const
}

/** A saved model directory that is missing, incomplete or does not match the history it is asked to forecast. */
export class ForecastModelError extends BaseError {
  override name = 'ForecastModelError' as const
}

/** The history given to a forecast is too short or has a gap where the model needs values. */
export class ForecastInputError extends BaseError {
  override name = 'ForecastInputError' as const
}
