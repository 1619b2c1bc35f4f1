// The one seam between the views and core: queries, commands, the event stream and the
// session. The browser uses HTTP/WebSocket (createHttpTransport); Electron will hand the
// same interface over IPC without a view changing.
import type { ApiEvent, Command } from '../../../core/api/contract.ts'
import type { SessionUser } from './apiTypes.ts'

export type ConnectionStatus = { state: 'connecting' | 'online' | 'offline'; since: number; retryInMs: number | null; reason: string | null }

export type QueryParams = Record<string, string | number | undefined>

export type Transport = {
  /** GET one query (`/api/<path>`); rejects with an ApiError naming the server's reason. */
  query<T>(path: string, params?: QueryParams): Promise<T>
  /** One command; the new state arrives through the next snapshot or event. */
  command<T>(command: Command | ExtraCommand): Promise<T>
  /** The event stream; reconnects by itself. Returns the unsubscribe. */
  subscribe(onEvent: (event: ApiEvent | ExtraEvent) => void, onStatus: (status: ConnectionStatus) => void): () => void
  session(): Promise<{ user: SessionUser; expiresAtMs: number | null } | null>
  login(name: string, password: string): Promise<SessionUser>
  logout(): Promise<void>
  /** Fetches `/api/<path>` (a CSV export, a report) and hands it to the browser as a download named `filename`. */
  download(path: string, params: QueryParams, filename: string): Promise<void>
}

/** Commands the plan (/tmp/api-plan) names that the contract may not carry yet; the server is the judge. */
export type ExtraCommand = { type: string; [key: string]: unknown }
export type ExtraEvent = { type: string; [key: string]: unknown }
