import { BaseError } from '../errors/BaseError.ts'

/** One message for the terminal: our errors as they are, anything else with its stack. */
export function formatCliError(error: unknown): string {
  if (error instanceof BaseError) return `gridmesh: ${error.message}`
  if (error instanceof Error) return `gridmesh: unexpected error: ${error.stack ?? error.message}`
  return `gridmesh: unexpected error: ${String(error)}`
}
