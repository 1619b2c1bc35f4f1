import { BaseError } from '../errors/BaseError.ts'

/** A request the API refuses, with the HTTP status to answer it with. */
export class ApiRequestError extends BaseError {
  override name = 'ApiRequestError' as const
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}
