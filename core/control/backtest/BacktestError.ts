import { BaseError } from '../../errors/BaseError.ts'

export class BacktestError extends BaseError {
  override name = 'BacktestError' as const
}
