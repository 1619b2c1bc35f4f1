import { randomBytes } from 'node:crypto'
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { isIP } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import { ApiRequestError } from './ApiRequestError.ts'
import { createAuthenticator, localUser, type SiteAuthenticator } from './auth/createAuthenticator.ts'
import { authorizeRequest, type Principal } from './authorizeRequest.ts'
import { checkSameOrigin } from './checkSameOrigin.ts'
import { parseJsonBody } from './parseJsonBody.ts'
import { parseRequestUrl } from './parseRequestUrl.ts'
import { createApiDispatch, sendJson, type ApiBackend, type ApiCall, type ApiCallAnswer } from './createApiDispatch.ts'
import type { SiteCommandServices } from './routes/handleSiteDataRoutes.ts'
import type { CommandHandlers } from './executeCommand.ts'
import { handleSessionRoutes } from './routes/handleSessionRoutes.ts'
import { serveHmi } from './serveHmi.ts'
import type { Store } from '../store/createStore.ts'
import type { ApiErrorBody, ApiEvent, SiteSummary } from './contract.ts'

export { ApiRequestError } from './ApiRequestError.ts'
export type { ApiBackend, ApiCall, ApiCallAnswer } from './createApiDispatch.ts'

export type CreateApiServerOptions = {
  backend: ApiBackend
  site: SiteSummary
  /** Default 127.0.0.1: the HMI is local; put a reverse proxy with TLS in front for anything else. */
  host?: string
  /** Default 0: any free port. */
  port?: number
  /** The session token every request must carry; default: 32 random bytes. */
  token?: string
  /** Accounts, sessions and the command audit (the site's store); without it only the token signs in and the audit lives in memory. */
  people?: Pick<Store, 'users' | 'sessions' | 'audit'>
  /** A host beyond loopback must be allowed explicitly (serve --allow-remote). */
  allowRemote?: boolean
  /** More names clients use for this server (the certificate's DNS name); the Host check accepts them. */
  hostNames?: string[]
  /** The site's clock, for the audit's times (alarms use it too); default Date.now. Sessions expire on the wall clock. */
  now?: () => number
  /** How often an open event stream's sign-in is checked again (default 30 s). */
  sessionRecheckMs?: number
  /** PEM certificate and key: serve https (cookies get Secure). */
  tls?: { cert: string | Buffer; key: string | Buffer }
  /** Handlers of more commands, by type (beside part A's and the siteData ones). */
  commandHandlers?: Partial<CommandHandlers>
  /** The HMI's part-B queries and commands (points, trend with tiers, CSV, devices, market, simulator, scan, commissioning, shelving); without it, the older /api/trend. */
  siteData?: SiteCommandServices
  log?: (message: string) => void
}

export type ApiServer = {
  url: string
  port: number
  token: string
  /** A one-time link that signs the local owner in (single use, 10 minutes) and opens the HMI. */
  signInUrl(): string
  /** The same contract in this process, without HTTP, for a principal the caller vouches for (the desktop window over IPC: via 'ipc'); recorded in the audit as that principal. */
  call(request: ApiCall, principal: Principal): Promise<ApiCallAnswer>
  /** The event stream in this process (hello, the site's events, the audit's); returns the unsubscribe. */
  subscribe(send: (event: ApiEvent) => void): () => void
  close(): Promise<void>
}

const maxBodyBytes = 64 * 1024
// A client that cannot keep up misses cycle and market events rather than growing the server's memory:
// both are re-read in full (state, /api/market) on the next snapshot or reconnect; alarms are never dropped.
const maxBufferedBytes = 1 << 20
const droppable = new Set<ApiEvent['type']>(['cycle', 'market'])

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      // Past the limit the rest is read and dropped, so the client still gets its answer.
      if (size <= maxBodyBytes) chunks.push(chunk)
    })
    req.on('error', reject)
    req.on('end', () => {
      if (size > maxBodyBytes) return reject(new ApiRequestError(413, `request body: larger than ${maxBodyBytes} bytes`))
      try {
        resolve(parseJsonBody(Buffer.concat(chunks).toString('utf8')))
      } catch (error) {
        reject(error)
      }
    })
  })
}

/**
 * The headless face of core: the API contract over HTTP (queries as GET, commands as
 * POST /api/commands) and the event stream over WebSocket (/api/events), on 127.0.0.1
 * with a session token, for the HMI in a browser. Every input is validated against the
 * contract; an error names the field and what was expected.
 */
export async function createApiServer(options: CreateApiServerOptions): Promise<ApiServer> {
  const { backend, site } = options
  const host = options.host ?? '127.0.0.1'
  const token = options.token ?? randomBytes(32).toString('base64url')
  const log = options.log ?? (() => {})
  let port = 0
  // TLS makes the own origin https and the session cookie Secure.
  const secure = options.tls !== undefined
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))
  if (!loopback && !options.allowRemote) throw new ApiRequestError(0, `api: --host ${host} is reachable from other machines; pass --allow-remote to mean it (and --tls-cert/--tls-key, or a TLS proxy in front)`)
  if (!loopback && !secure) log(`WARNING: the API listens on ${host} without TLS: passwords, session cookies and commands cross the network in clear text; use --tls-cert/--tls-key`)
  const names = options.hostNames ?? []
  const auth: SiteAuthenticator | null = options.people ? createAuthenticator({ token, users: options.people.users, sessions: options.people.sessions, now: Date.now, secureCookies: secure }) : null
  // The contract itself (routes, validation, commands, audit, events): the same for every transport.
  const dispatch = createApiDispatch({ backend, site, people: options.people, now: options.now, commandHandlers: options.commandHandlers, siteData: options.siteData, log })
  /** Every request's gate: same origin first, then who it is. */
  const authorize = (req: IncomingMessage, url: URL, upgrade: boolean): Principal => {
    checkSameOrigin(req, { host, port, secure, names })
    return authorizeRequest(req, url, auth ? { auth, upgrade } : { token, upgrade })
  }

  const describeFailure = (req: IncomingMessage, error: unknown) => dispatch.describeFailure(`${req.method} ${JSON.stringify((req.url ?? '').slice(0, 200))}`, error)

  /**
   * The one error boundary: every request, plain or upgrade, runs inside it from its
   * first byte of handling, and whatever it throws (synchronously or not) is answered
   * with its status instead of reaching the process. If even the answer fails (the
   * client is gone, headers already sent), the connection is dropped and logged.
   */
  const guard = (req: IncomingMessage, work: () => unknown, answer: (status: number, body: ApiErrorBody) => void, drop: () => void): void => {
    Promise.resolve()
      .then(work)
      .catch((error: unknown) => {
        const { status, body } = describeFailure(req, error)
        answer(status, body)
      })
      .catch((error: unknown) => {
        log(`api: cannot answer ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 200))}: ${(error as Error).message}; dropping the connection`)
        drop()
      })
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    guard(
      req,
      async () => {
        const url = parseRequestUrl(req)
        if (await serveHmi(req, res, url, { check: () => checkSameOrigin(req, { host, port, secure, names }) })) return
        // Signing in and out needs no credential, but the same origin (no login CSRF).
        if (auth && url.pathname !== '/api/events') {
          checkSameOrigin(req, { host, port, secure, names })
          if (await handleSessionRoutes(req, res, url, { auth, readBody })) return
        }
        const principal = authorize(req, url, false)
        await dispatch.handle({ method: req.method ?? '', url, readBody: () => readBody(req) }, principal, res)
      },
      (status, body) => sendJson(res, status, body),
      () => res.destroy(),
    )
  }
  const server = options.tls ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }, onRequest) : createServer(onRequest)

  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 })
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
    // Node hands the raw socket over without its error listener: a reset before ws takes it must not be an uncaught 'error'.
    socket.on('error', () => socket.destroy())
    guard(
      req,
      () => {
        const url = parseRequestUrl(req)
        authorize(req, url, true)
        if (url.pathname !== '/api/events') throw new ApiRequestError(404, `no WebSocket endpoint ${url.pathname}; use /api/events`)
        wss.handleUpgrade(req, socket, head, (ws) => attach(ws, req))
      },
      (status, body) => {
        const text = JSON.stringify(body)
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
      },
      () => socket.destroy(),
    )
  })

  function attach(ws: WebSocket, req: IncomingMessage) {
    const send = (event: ApiEvent) => {
      if (droppable.has(event.type) && ws.bufferedAmount > maxBufferedBytes) return
      ws.send(JSON.stringify(event))
    }
    const unsubscribe = dispatch.subscribe(send)
    // A stream outlives no sign-in: its cookie is checked again, and it is closed once the session ended (logout, expiry, account removed).
    const cookieOnly = { cookie: req.headers.cookie }
    const recheck = auth && !req.headers.authorization && auth.authenticate(cookieOnly) ? setInterval(() => auth.authenticate(cookieOnly) ?? ws.close(4401, 'session ended: sign in again'), options.sessionRecheckMs ?? 30_000) : null
    ws.on('close', () => {
      if (recheck) clearInterval(recheck)
      unsubscribe()
    })
    // The stream is one-way: a client that talks on it is told where commands go.
    ws.on('message', () => ws.close(1008, 'commands go to POST /api/commands'))
    // ws emits 'error' (then closes 1009) for a message over maxPayload; unheard, it was an uncaught exception that ended serve.
    ws.on('error', (error) => log(`api: event stream: ${error.message}`))
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new ApiRequestError(0, `api: cannot listen on ${host}:${options.port ?? 0}: ${error.code === 'EADDRINUSE' ? 'the port is in use (another GridMesh? pick another with --port)' : error.message}`)),
    )
    server.listen(options.port ?? 0, host, () => {
      server.removeAllListeners('error')
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const url = `${secure ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`
  return {
    url,
    port,
    token,
    signInUrl() {
      if (!auth) throw new ApiRequestError(0, `api: no sign-in links without the store; use the token (user '${localUser}')`)
      return `${url}/api/signin?code=${auth.createSignInLink()}`
    },
    call: dispatch.call,
    subscribe: dispatch.subscribe,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
