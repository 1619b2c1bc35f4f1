/** The root of GridMesh's errors: a short message for people, details, and the cause kept. */
export type BaseErrorParameters = {
  details?: string | undefined
  cause?: unknown
  metaMessages?: string[] | undefined
}

export class BaseError extends Error {
  override name = 'BaseError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly metaMessages: string[] | undefined

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const details =
      parameters.details ?? (parameters.cause instanceof Error ? parameters.cause.message : undefined)
    const lines = [shortMessage]
    if (parameters.metaMessages?.length) lines.push('', ...parameters.metaMessages)
    if (details && details !== shortMessage) lines.push('', `Details: ${details}`)
    super(lines.join('\n'), parameters.cause === undefined ? undefined : { cause: parameters.cause })
    this.shortMessage = shortMessage
    this.details = details
    this.metaMessages = parameters.metaMessages
  }
}

/** A command-line flag or argument that is wrong; the CLI prints it and exits with 2. */
export class UsageError extends BaseError {
  override name = 'UsageError' as const
}

/** A file or value from outside that is wrong (site file, CSV, plan input); the CLI prints it without a stack and exits with 2. */
export class InputError extends BaseError {
  override name: string = 'InputError'
}
