import type { ApiEvent, Command } from '../../../core/api/contract.ts'
import { ApiError } from './ApiError.ts'
import type { SessionUser } from './apiTypes.ts'
import type { ConnectionStatus, ExtraEvent, QueryParams, Transport } from './Transport.ts'

/** One answer from the desktop app's main process: a value, or the error as the HTTP API words it. */
export type IpcAnswer = { ok: true; value: unknown } | { ok: false; error: { status: number; name: string; message: string; field?: string } }

/** What electron/preload.cts exposes as `window.gridmesh` (and nothing more). */
export type GridmeshBridge = {
  query(path: string, params?: Record<string, string | number>): Promise<IpcAnswer>
  command(command: unknown): Promise<IpcAnswer>
  download(path: string, params?: Record<string, string | number>): Promise<IpcAnswer>
  session(): Promise<IpcAnswer>
  subscribe(onEvent: (event: unknown) => void, onStatus: (status: { state: ConnectionStatus['state']; reason: string | null }) => void): () => void
}

const unwrap = <T>(answer: IpcAnswer): T => {
  if (answer.ok) return answer.value as T
  throw new ApiError(answer.error.status, answer.error.name, answer.error.message, answer.error.field ?? null)
}
// The bridge's schemas take strings and numbers: an unset parameter is left out, as the URL would.
const defined = (params: QueryParams | undefined): Record<string, string | number> | undefined => {
  if (!params) return undefined
  const out: Record<string, string | number> = {}
  for (const [k, v] of Object.entries(params)) if (v !== undefined) out[k] = v
  return out
}

/** The transport inside the desktop app: the same contract over the preload's IPC bridge; the desktop user is the local owner. */
export function createIpcTransport(bridge: GridmeshBridge): Transport {
  return {
    // The session is the bridge's own answer (the desktop user is the local owner), not an API query.
    query: async <T>(path: string, params?: QueryParams) => unwrap<T>(path === 'session' ? await bridge.session() : await bridge.query(path, defined(params))),
    command: async <T>(command: Command | { type: string }) => unwrap<T>(await bridge.command(command)),
    async session() {
      return unwrap<{ user: SessionUser; expiresAtMs: number | null }>(await bridge.session())
    },
    async login() {
      throw new ApiError(400, 'DesktopSession', 'the desktop app signs you in as the site owner; there is no password to enter')
    },
    async logout() {
      // The window is the owner's as long as it is open.
    },
    async download(path, params, filename) {
      const file = unwrap<{ contentType: string; filename: string | null; text: string }>(await bridge.download(path, defined(params)))
      const url = URL.createObjectURL(new Blob([file.text], { type: file.contentType }))
      const a = Object.assign(document.createElement('a'), { href: url, download: file.filename ?? filename })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    },
    subscribe(onEvent, onStatus) {
      return bridge.subscribe(
        (event) => onEvent(event as ApiEvent | ExtraEvent),
        (status) => onStatus({ state: status.state, reason: status.reason, retryInMs: null, since: Date.now() }),
      )
    },
  }
}
