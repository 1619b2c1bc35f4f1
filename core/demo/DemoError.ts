import { BaseError } from '../errors/BaseError.ts'

/** A demo step that failed; says which site or step, and why. */
export class DemoError extends BaseError {
  override name = 'DemoError' as const
}
