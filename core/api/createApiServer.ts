import { randomBytes } from 'node:crypto'
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { z } from 'zod'
import type { SiteController } from '../control/createSiteController.ts'
import { BaseError } from '../errors/BaseError.ts'
import { describeZodIssue } from '../errors/describeZodIssue.ts'
import { ApiRequestError } from './ApiRequestError.ts'
import { authorizeRequest, type Principal } from './authorizeRequest.ts'
import { checkSameOrigin } from './checkSameOrigin.ts'
import { parseJsonBody } from './parseJsonBody.ts'
import { parseRequestUrl } from './parseRequestUrl.ts'
import { serveHmi } from './serveHmi.ts'
import { alarmsQuerySchema, commandSchema, trendQuerySchema, type ApiErrorBody, type ApiEvent, type CommandResult, type SiteSummary } from './contract.ts'

export { ApiRequestError } from './ApiRequestError.ts'

/** What the server needs of a running site: the controller's queries, commands and events. */
export type ApiBackend = Pick<SiteController, 'latest' | 'plan' | 'forecast' | 'alarms' | 'acknowledgeAlarm' | 'trend' | 'subscribe'>

export type CreateApiServerOptions = {
  backend: ApiBackend
  site: SiteSummary
  /** Default 127.0.0.1: the HMI is local; put a reverse proxy with TLS in front for anything else. */
  host?: string
  /** Default 0: any free port. */
  port?: number
  /** The session token every request must carry; default: 32 random bytes. */
  token?: string
  log?: (message: string) => void
}

export type ApiServer = { url: string; port: number; token: string; close(): Promise<void> }

const maxBodyBytes = 64 * 1024
// A client that cannot keep up misses cycle events rather than growing the server's memory.
const maxBufferedBytes = 1 << 20

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function parse<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input)
  if (!result.success) throw new ApiRequestError(400, `${where}: ${result.error.issues.map((i) => describeZodIssue(i, input)).join('; ')}`)
  return result.data
}

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
  // Plain HTTP today; TLS (when the server gets it) makes the own origin https.
  const secure = false
  /** Every request's gate: same origin first, then who it is. */
  const authorize = (req: IncomingMessage, url: URL, upgrade: boolean): Principal => {
    checkSameOrigin(req, { host, port, secure })
    return authorizeRequest(req, url, { token, upgrade })
  }

  async function route(req: IncomingMessage, url: URL): Promise<unknown> {
    const query = Object.fromEntries(url.searchParams)
    const get = req.method === 'GET'
    switch (url.pathname) {
      case '/api/state':
        if (get) return { site, cycle: backend.latest() }
        break
      case '/api/plan':
        if (get) return { plan: backend.plan() }
        break
      case '/api/forecast':
        if (get) return backend.forecast()
        break
      case '/api/alarms':
        if (get) return { alarms: backend.alarms(parse(alarmsQuerySchema, query, 'query')) }
        break
      case '/api/trend':
        if (get) return { rows: backend.trend(parse(trendQuerySchema, query, 'query')) }
        break
      case '/api/commands':
        if (req.method === 'POST') {
          const command = parse(commandSchema, await readBody(req), 'request body')
          const result: CommandResult = { type: 'acknowledgeAlarm', alarm: backend.acknowledgeAlarm(command.id, command.by ?? 'operator') }
          return result
        }
        break
      default:
        throw new ApiRequestError(404, `no such endpoint ${url.pathname}; the API has /api/state, /api/plan, /api/forecast, /api/alarms, /api/trend, POST /api/commands and WebSocket /api/events`)
    }
    throw new ApiRequestError(405, `${req.method} is not allowed on ${url.pathname}`)
  }

  /** How a failure is answered: its status and the error body; unexpected ones are logged. */
  const describeFailure = (req: IncomingMessage, error: unknown): { status: number; body: ApiErrorBody } => {
    const status = error instanceof ApiRequestError ? error.status : error instanceof BaseError && error.name === 'AlarmNotOpenError' ? 409 : error instanceof BaseError && error.name === 'StoreInputError' ? 400 : 500
    const e = error instanceof Error ? error : new Error(String(error))
    if (status === 500) log(`api: ${req.method} ${JSON.stringify((req.url ?? '').slice(0, 200))} failed: ${e.stack ?? e.message}`)
    return { status, body: { error: { name: e.name, message: (e as BaseError).shortMessage ?? e.message } } }
  }

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

  const server = createServer((req, res) => {
    guard(
      req,
      async () => {
        const url = parseRequestUrl(req)
        if (await serveHmi(req, res, url, { check: () => checkSameOrigin(req, { host, port, secure }) })) return
        authorize(req, url, false)
        sendJson(res, 200, await route(req, url))
      },
      (status, body) => sendJson(res, status, body),
      () => res.destroy(),
    )
  })

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
        wss.handleUpgrade(req, socket, head, (ws) => attach(ws))
      },
      (status, body) => {
        const text = JSON.stringify(body)
        socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`)
      },
      () => socket.destroy(),
    )
  })

  function attach(ws: WebSocket) {
    const send = (event: ApiEvent) => {
      if (event.type === 'cycle' && ws.bufferedAmount > maxBufferedBytes) return
      ws.send(JSON.stringify(event))
    }
    send({ type: 'hello', site })
    const unsubscribe = backend.subscribe(send)
    ws.on('close', unsubscribe)
    // The stream is one-way: a client that talks on it is told where commands go.
    ws.on('message', () => ws.close(1008, 'commands go to POST /api/commands'))
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
  const url = `http://${host}:${port}`
  return {
    url,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate()
        wss.close()
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
