import { BaseError } from '../errors/BaseError.ts'

/** This site cannot trade as asked: says which setting, file or interval, and what was expected. */
export class TradingError extends BaseError {
  override name = 'TradingError' as const
}
