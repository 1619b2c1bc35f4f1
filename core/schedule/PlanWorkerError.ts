import { BaseError } from '../errors/BaseError.ts'

/** The plan worker failed: it crashed, exited, or the plan it was asked for threw (its name and message are kept). */
export class PlanWorkerError extends BaseError {
  override name = 'PlanWorkerError' as const
}
