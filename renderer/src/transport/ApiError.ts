/** An API answer that is not a success: the server's status, error name, message and (for settings) the field it concerns. */
export class ApiError extends Error {
  override name = 'ApiError' as const
  readonly status: number
  readonly errorName: string
  readonly field: string | null
  constructor(status: number, errorName: string, message: string, field: string | null = null) {
    super(message)
    this.status = status
    this.errorName = errorName
    this.field = field
  }
  /** The endpoint is not on this server (yet): views show "not available", never made-up data. */
  get notAvailable(): boolean {
    return this.status === 404 || this.status === 405
  }
}
