import { ApiError } from '../transport/ApiError.ts'
import type { QueryParams, Transport } from '../transport/Transport.ts'

/** One query a view owns (trend, market, devices…): the last answer, its error and when it came. */
export class QueryResource<T> {
  data = $state.raw<T | null>(null)
  error = $state.raw<ApiError | null>(null)
  loading = $state.raw(false)
  receivedAtMs = $state.raw<number | null>(null)
  /** The endpoint is not on this server: the view says so instead of showing anything made up. */
  notAvailable = $derived(this.error?.notAvailable ?? false)
  readonly #transport: Transport
  readonly #path: string
  #seq = 0

  constructor(transport: Transport, path: string) {
    this.#transport = transport
    this.#path = path
  }

  async load(params?: QueryParams): Promise<void> {
    const seq = ++this.#seq
    this.loading = true
    try {
      const data = await this.#transport.query<T>(this.#path, params)
      // A slower earlier answer must not overwrite a newer one (range changes in quick succession).
      if (seq !== this.#seq) return
      this.data = data
      this.error = null
      this.receivedAtMs = Date.now()
    } catch (error) {
      if (seq !== this.#seq) return
      this.error = error instanceof ApiError ? error : new ApiError(0, 'Error', (error as Error).message)
    } finally {
      if (seq === this.#seq) this.loading = false
    }
  }
}
