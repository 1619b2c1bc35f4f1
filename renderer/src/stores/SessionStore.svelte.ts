import { roleAllows } from '../lib/roleAllows.ts'
import { ApiError } from '../transport/ApiError.ts'
import type { SessionUser } from '../transport/apiTypes.ts'
import type { Transport } from '../transport/Transport.ts'

/** Who is signed in, and what their role lets the controls do (the server decides; this only disables what it would refuse). */
export class SessionStore {
  user = $state.raw<SessionUser | null>(null)
  expiresAtMs = $state.raw<number | null>(null)
  /** False until the first answer of /api/session: the page shows neither login nor views before. */
  checked = $state.raw(false)
  error = $state.raw<string | null>(null)
  canOperate = $derived(roleAllows(this.user?.role, 'operator'))
  canInstall = $derived(roleAllows(this.user?.role, 'installer'))
  readonly #transport: Transport

  constructor(transport: Transport) {
    this.#transport = transport
  }

  async check(): Promise<void> {
    try {
      const s = await this.#transport.session()
      this.user = s?.user ?? null
      this.expiresAtMs = s?.expiresAtMs ?? null
      this.error = null
    } catch (error) {
      this.error = (error as Error).message
    } finally {
      this.checked = true
    }
  }

  async login(name: string, password: string): Promise<void> {
    try {
      this.user = await this.#transport.login(name, password)
      this.error = null
      await this.check()
    } catch (error) {
      this.error = error instanceof ApiError && error.notAvailable ? 'this server has no named accounts yet: open the sign-in link the service printed' : (error as Error).message
    }
  }

  async logout(): Promise<void> {
    try {
      await this.#transport.logout()
    } finally {
      this.user = null
    }
  }

  /** A 401 from any call: the session ended (expired or signed out elsewhere). */
  expired(): void {
    this.user = null
  }
}
