import { BaseError } from '../core/errors/BaseError.ts'

/** An IPC message main refuses: who sent it or what it carried, with the HTTP-like status the renderer's ApiError takes. */
export class IpcRequestError extends BaseError {
  override name = 'IpcRequestError' as const
  readonly status: number
  readonly field: string | undefined
  constructor(status: number, message: string, field?: string) {
    super(message)
    this.status = status
    this.field = field
  }
}
