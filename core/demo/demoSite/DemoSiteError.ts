import { BaseError } from '../../errors/BaseError.ts'

/** A demo site process could not do what it was asked; says which site, what and why. */
export class DemoSiteError extends BaseError {
  override name = 'DemoSiteError' as const
}
