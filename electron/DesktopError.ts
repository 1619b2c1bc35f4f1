import { BaseError } from '../core/errors/BaseError.ts'

/** Something the desktop shell refuses or cannot do, with the message the window shows. */
export class DesktopError extends BaseError {
  override name = 'DesktopError' as const
}
