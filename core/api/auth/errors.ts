import { BaseError } from '../../errors/BaseError.ts'
import type { Role } from '../contract.ts'

/** A wrong name or password: the same answer for both, so it never says which names exist. */
export class LoginError extends BaseError {
  override name = 'LoginError' as const
  readonly status = 401
  constructor() {
    super('wrong user name or password')
  }
}

/** Too many failed sign-ins for this name or from this address: wait. */
export class LoginThrottledError extends BaseError {
  override name = 'LoginThrottledError' as const
  readonly status = 429
  readonly retryAfterMs: number
  constructor({ retryAfterMs }: { retryAfterMs: number }) {
    super(`too many failed sign-ins for this name or from this address; try again in ${Math.ceil(retryAfterMs / 1000)} s`)
    this.retryAfterMs = retryAfterMs
  }
}

/** No (or no longer a) valid session or token. */
export class UnauthenticatedError extends BaseError {
  override name = 'UnauthenticatedError' as const
  readonly status = 401
  constructor(reason: string) {
    super(`not signed in: ${reason}`)
  }
}

/** Signed in, but the role may not do this. */
export class ForbiddenError extends BaseError {
  override name = 'ForbiddenError' as const
  readonly status = 403
  readonly role: Role
  readonly needed: Role
  constructor({ role, action, needed }: { role: Role; action: string; needed: Role }) {
    super(`role ${role} cannot ${action} (needs ${needed})`)
    this.role = role
    this.needed = needed
  }
}

/** A one-time sign-in link that is unknown, used already or expired. */
export class SignInLinkError extends BaseError {
  override name = 'SignInLinkError' as const
  readonly status = 401
  constructor() {
    super('this sign-in link is unknown, used already or expired; restart the service for a new one, or sign in with a name and password')
  }
}
