import type { ApiEvent } from '../../../core/api/contract.ts'
import { ApiError } from './ApiError.ts'
import type { SessionUser } from './apiTypes.ts'
import { nextBackoffMs } from '../lib/nextBackoffMs.ts'
import type { ConnectionStatus, ExtraEvent, QueryParams, Transport } from './Transport.ts'

export type HttpTransportOptions = {
  /** Origin of the API; default the page's own (the API server serves the HMI). */
  baseUrl?: string
  /** A bearer token (the local owner's, from a `#token=` link); default none: the session cookie. */
  token?: string | null
  WebSocket?: typeof WebSocket
  fetch?: typeof fetch
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: { error?: { name?: string; message?: string; field?: string } } = {}
  try {
    body = (await res.json()) as typeof body
  } catch {
    // Not JSON (a proxy's page, a dropped connection): the status says enough.
  }
  return new ApiError(res.status, body.error?.name ?? `HTTP ${res.status}`, body.error?.message ?? res.statusText ?? `HTTP ${res.status}`, body.error?.field ?? null)
}

function withParams(path: string, params: QueryParams | undefined): string {
  const search = new URLSearchParams()
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined) search.set(k, String(v))
  const s = search.toString()
  return s ? `${path}?${s}` : path
}

/** The transport over the site's HTTP API and its WebSocket event stream, with automatic reconnect. */
export function createHttpTransport(options: HttpTransportOptions = {}): Transport {
  const base = options.baseUrl ?? location.origin
  const token = options.token ?? null
  const doFetch = options.fetch ?? fetch.bind(globalThis)
  const WS = options.WebSocket ?? WebSocket
  const headers = (extra: Record<string, string> = {}): Record<string, string> => (token ? { ...extra, authorization: `Bearer ${token}` } : extra)

  async function call<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        credentials: 'same-origin',
        headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
        body: body === undefined ? null : JSON.stringify(body),
      })
    } catch (error) {
      throw new ApiError(0, 'NetworkError', `the site service does not answer (${(error as Error).message})`)
    }
    if (!res.ok) throw await toApiError(res)
    return (await res.json()) as T
  }

  return {
    query: <T>(path: string, params?: QueryParams) => call<T>('GET', withParams(`/api/${path}`, params)),
    command: <T>(command: unknown) => call<T>('POST', '/api/commands', command),
    async session() {
      try {
        return await call<{ user: SessionUser; expiresAtMs: number | null }>('GET', '/api/session')
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null
        // A server without sessions yet (the token is the only way in): a working token is the local owner.
        if (error instanceof ApiError && error.notAvailable && token) {
          await call('GET', '/api/state')
          return { user: { name: 'local', role: 'installer' }, expiresAtMs: null }
        }
        throw error
      }
    },
    async login(name, password) {
      return (await call<{ user: SessionUser }>('POST', '/api/login', { name, password })).user
    },
    async logout() {
      await call('POST', '/api/logout', {})
    },
    async download(path, params, filename) {
      // Fetched rather than linked: a bearer token cannot ride on a link (the server takes ?token= on the WebSocket upgrade only).
      let res: Response
      try {
        res = await doFetch(`${base}${withParams(`/api/${path}`, params)}`, { credentials: 'same-origin', headers: headers() })
      } catch (error) {
        throw new ApiError(0, 'NetworkError', `the site service does not answer (${(error as Error).message})`)
      }
      if (!res.ok) throw await toApiError(res)
      const url = URL.createObjectURL(await res.blob())
      const a = Object.assign(document.createElement('a'), { href: url, download: filename })
      document.body.append(a)
      a.click()
      a.remove()
      setTimeout(() => URL.revokeObjectURL(url), 60_000)
    },
    subscribe(onEvent, onStatus) {
      let socket: WebSocket | null = null
      let attempt = 0
      let timer: ReturnType<typeof setTimeout> | null = null
      let closed = false
      const status = (s: Omit<ConnectionStatus, 'since'>) => onStatus({ ...s, since: Date.now() })
      const open = () => {
        if (closed) return
        status({ state: 'connecting', retryInMs: null, reason: null })
        const wsUrl = new URL('/api/events', base.replace(/^http/, 'ws'))
        // Browsers cannot set headers on a WebSocket: a bearer token goes on the upgrade only.
        if (token) wsUrl.searchParams.set('token', token)
        const ws = new WS(wsUrl.toString())
        socket = ws
        ws.onopen = () => {
          attempt = 0
          status({ state: 'online', retryInMs: null, reason: null })
        }
        ws.onmessage = (m) => {
          try {
            onEvent(JSON.parse(String(m.data)) as ApiEvent | ExtraEvent)
          } catch {
            // A frame that is not JSON is not ours to act on; the next snapshot corrects the view.
          }
        }
        ws.onclose = (e) => {
          socket = null
          if (closed) return
          const retryInMs = nextBackoffMs(attempt++)
          status({ state: 'offline', retryInMs, reason: e.reason || (e.code === 1006 ? 'connection lost' : `closed (${e.code})`) })
          timer = setTimeout(open, retryInMs)
        }
      }
      open()
      return () => {
        closed = true
        if (timer) clearTimeout(timer)
        socket?.close()
      }
    },
  }
}
