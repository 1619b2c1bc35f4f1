import { BaseError } from '../errors/BaseError.ts'

/** The simulator program did not start, exited, or its control API refused a call. */
export class SimulatorProcessError extends BaseError {
  override name = 'SimulatorProcessError' as const
}
