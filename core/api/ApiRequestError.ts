import { BaseError } from '../errors/BaseError.ts'

/** A request the API refuses, with the HTTP status to answer it with. */
export class ApiRequestError extends BaseError {
  override name = 'ApiRequestError' as const
  readonly status: number
  /** The body path of the first bad field (`grid.maxImportW`), answered as `error.field` so a form can show the message beside it. */
  readonly field: string | undefined
  constructor(status: number, message: string, field?: string) {
    super(message)
    this.status = status
    this.field = field
  }
}
