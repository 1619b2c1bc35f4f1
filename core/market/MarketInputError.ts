import { BaseError } from '../errors/BaseError.ts'

/** An order set, clearing or reading that the market cannot use; says which and why. */
export class MarketInputError extends BaseError {
  override name = 'MarketInputError' as const
  constructor(where: string, expected: string, got: string) {
    super(`${where}: expected ${expected}, got ${got}`)
  }
}
