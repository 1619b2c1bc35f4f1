import { BaseError } from '../errors/BaseError.ts'

export class SoakError extends BaseError {
  override name = 'SoakError' as const
}
