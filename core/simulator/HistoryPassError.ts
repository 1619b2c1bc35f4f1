import { BaseError } from '../errors/BaseError.ts'

export class HistoryPassError extends BaseError {
  override name = 'HistoryPassError' as const
}
