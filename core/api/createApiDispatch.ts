import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http'
import { Writable } from 'node:stream'
import { finished } from 'node:stream/promises'
import type { z } from 'zod'
import type { SiteController } from '../control/createSiteController.ts'
import { BaseError } from '../errors/BaseError.ts'
import { describeZodIssue } from '../errors/describeZodIssue.ts'
import type { Store } from '../store/createStore.ts'
import { ApiRequestError } from './ApiRequestError.ts'
import type { Principal } from './authorizeRequest.ts'
import { alarmsQuerySchema, auditQuerySchema, trendQuerySchema, type ApiErrorBody, type ApiEvent, type AuditEntry, type SiteSummary } from './contract.ts'
import { executeCommand, type CommandHandlers } from './executeCommand.ts'
import { createCoreCommandHandlers } from './routes/createCoreCommandHandlers.ts'
import { createSiteCommandHandlers } from './routes/createSiteCommandHandlers.ts'
import { handleSiteDataRoutes, type SiteCommandServices } from './routes/handleSiteDataRoutes.ts'

/** What the API needs of a running site: the controller's queries, commands and events. */
export type ApiBackend = Pick<SiteController, 'latest' | 'plan' | 'forecast' | 'alarms' | 'acknowledgeAlarm' | 'trend' | 'subscribe'> & Partial<Pick<SiteController, 'operatingMode' | 'settings'>>

export type ApiDispatchOptions = {
  backend: ApiBackend
  site: SiteSummary
  /** The command audit (the site's store); without it the audit lives in memory. */
  people?: Pick<Store, 'audit'> | undefined
  /** The site's clock, for the audit's times; default Date.now. */
  now?: (() => number) | undefined
  /** Handlers of more commands, by type (beside part A's and the siteData ones). */
  commandHandlers?: Partial<CommandHandlers> | undefined
  /** The HMI's part-B queries and commands; without it, the older /api/trend. */
  siteData?: SiteCommandServices | undefined
  log?: ((message: string) => void) | undefined
}

/** One call of the contract from inside the process (the desktop's core process answering IPC): no HTTP, no token. */
export type ApiCall = { method: 'GET' | 'POST'; /** '/api/state', '/api/trend.csv', ... */ path: string; query?: Record<string, string | number> | undefined; /** POST /api/commands: the command, not yet validated. */ body?: unknown }
export type ApiCallAnswer =
  | { ok: true; status: number; value: unknown }
  | { ok: true; status: number; file: { contentType: string; filename: string | null; text: string } }
  | { ok: false; status: number; error: ApiErrorBody['error'] }

export type ApiDispatch = {
  /** A request whose principal is known: JSON routes answered with `res`, the part-B ones written to it. Throws what the caller answers with `describeFailure`. */
  handle(request: { method: string; url: URL; readBody: () => Promise<unknown> }, principal: Principal, res: ServerResponse): Promise<void>
  /** How a failure is answered: its status and the error body; unexpected ones are logged. */
  describeFailure(where: string, error: unknown): { status: number; body: ApiErrorBody }
  /** The event stream: hello, the site's events, the live market node's and the audit's, until the returned unsubscribe. */
  subscribe(send: (event: ApiEvent) => void): () => void
  /** The contract in process, for a principal a transport has already established (the desktop window: via 'ipc'). */
  call(request: ApiCall, principal: Principal): Promise<ApiCallAnswer>
}

/** A JSON answer, not cached. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

function parse<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input)
  if (!result.success) throw new ApiRequestError(400, `${where}: ${result.error.issues.map((i) => describeZodIssue(i, input)).join('; ')}`)
  return result.data
}

/**
 * The response the part-B routes write to when the call came from inside the process:
 * the status, the headers and the body collected, with a stream's backpressure and errors
 * (the CSV export writes to it as to a socket). Only what those routes use of a ServerResponse.
 */
class CollectedResponse extends Writable {
  statusCode = 200
  headers: Record<string, string> = {}
  private readonly chunks: Buffer[] = []
  writeHead(status: number, headers: Record<string, string | number> = {}): this {
    this.statusCode = status
    this.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), String(v)]))
    return this
  }
  override _write(chunk: Buffer | string, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, encoding) : chunk)
    callback()
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }
}

/**
 * The API contract without its transport: the route table, the contract's validation,
 * the commands (role, schema, handler, audit: executeCommand) and the event stream, for a
 * principal the transport has established. The HTTP server (createApiServer) calls it
 * after its origin and credential checks; the desktop's core process calls it for the
 * window's IPC with principal via 'ipc', so both answer and audit alike.
 */
export function createApiDispatch(options: ApiDispatchOptions): ApiDispatch {
  const { backend, site } = options
  const log = options.log ?? (() => {})
  const memoryAudit: AuditEntry[] = []
  // Without the store (tests, a bare API) the audit lives in memory, newest first, the last 1000.
  const audit = options.people?.audit ?? {
    record: (e: Omit<AuditEntry, 'id'>) => {
      const entry = { ...e, id: (memoryAudit[0]?.id ?? 0) + 1 }
      memoryAudit.unshift(entry)
      memoryAudit.length = Math.min(memoryAudit.length, 1000)
      return entry
    },
    list: ({ sinceMs = 0, limit = 200 } = {}) => memoryAudit.filter((e) => e.timeMs >= sinceMs).slice(0, limit),
  }
  // Every open event stream, for the events the API makes itself (the audit).
  const streams = new Set<(event: ApiEvent) => void>()
  const onAudit = (entry: AuditEntry) => streams.forEach((send) => send({ type: 'audit', entry }))
  const siteCommands = options.siteData ? createSiteCommandHandlers(options.siteData) : null
  const handlers: Partial<CommandHandlers> = { ...createCoreCommandHandlers(backend), ...siteCommands, ...options.commandHandlers }

  async function route(method: string, url: URL, principal: Principal, readBody: () => Promise<unknown>): Promise<unknown> {
    const query = Object.fromEntries(url.searchParams)
    const get = method === 'GET'
    switch (url.pathname) {
      case '/api/state':
        if (get) return { site, cycle: backend.latest(), mode: backend.operatingMode?.current() ?? null, settings: backend.settings?.current() ?? null }
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
        // The role, the contract, the handler; every command recorded (core/api/executeCommand.ts).
        if (method === 'POST') return executeCommand({ body: await readBody(), principal, handlers, audit, now: options.now ?? Date.now, onAudit })
        break
      case '/api/audit':
        if (get) return { entries: audit.list(parse(auditQuerySchema, query, 'query')) }
        break
      case '/api/settings':
        if (get) return { settings: backend.settings?.current() ?? null, mode: backend.operatingMode?.current() ?? null }
        break
      default:
        throw new ApiRequestError(404, `no such endpoint ${url.pathname}; the API has /api/state, /api/plan, /api/forecast, /api/alarms, /api/trend, POST /api/commands and WebSocket /api/events`)
    }
    throw new ApiRequestError(405, `${method} is not allowed on ${url.pathname}`)
  }

  const handle: ApiDispatch['handle'] = async ({ method, url, readBody }, principal, res) => {
    // The part-B routes read only the method of the request.
    if (options.siteData && (await handleSiteDataRoutes({ method } as IncomingMessage, res, url, options.siteData))) return
    sendJson(res, 200, await route(method, url, principal, readBody))
  }

  const describeFailure: ApiDispatch['describeFailure'] = (where, error) => {
    // Errors that know their answer carry `status` (ApiRequestError; the auth errors: 401, 403, 429).
    const own = error instanceof BaseError && typeof (error as { status?: unknown }).status === 'number' ? (error as unknown as { status: number }).status : null
    const status = own ?? (error instanceof BaseError && error.name === 'AlarmNotOpenError' ? 409 : error instanceof BaseError && error.name === 'StoreInputError' ? 400 : 500)
    const e = error instanceof Error ? error : new Error(String(error))
    if (status === 500) log(`api: ${where} failed: ${e.stack ?? e.message}`)
    const field = (error as { field?: unknown }).field
    return { status, body: { error: { name: e.name, message: (e as BaseError).shortMessage ?? e.message, ...(typeof field === 'string' && { field }) } } }
  }

  const subscribe: ApiDispatch['subscribe'] = (send) => {
    send({ type: 'hello', site })
    const unsubscribe = backend.subscribe(send)
    const unsubscribeMarket = options.siteData?.marketEvents?.(send) ?? null
    streams.add(send)
    return () => {
      unsubscribe()
      unsubscribeMarket?.()
      streams.delete(send)
    }
  }

  const call: ApiDispatch['call'] = async (request, principal) => {
    const url = new URL(request.path, 'http://in-process')
    for (const [k, v] of Object.entries(request.query ?? {})) url.searchParams.set(k, String(v))
    const where = `${request.method} ${JSON.stringify(`${url.pathname}${url.search}`.slice(0, 200))} (in process)`
    const res = new CollectedResponse()
    try {
      await handle({ method: request.method, url, readBody: async () => request.body }, principal, res as unknown as ServerResponse)
      await finished(res)
    } catch (error) {
      const { status, body } = describeFailure(where, error)
      return { ok: false, status, error: body.error }
    }
    const contentType = res.headers['content-type'] ?? 'application/octet-stream'
    const disposition = res.headers['content-disposition']
    if (disposition !== undefined && res.statusCode < 400) return { ok: true, status: res.statusCode, file: { contentType, filename: /filename="([^"]+)"/.exec(disposition)?.[1] ?? null, text: res.text() } }
    const value: unknown = contentType.startsWith('application/json') ? JSON.parse(res.text()) : res.text()
    if (res.statusCode < 400) return { ok: true, status: res.statusCode, value }
    // A refusal written as an answer (GET /api/sim of a site without the simulator): its reason, when it gives one.
    const reason = (value as { reason?: unknown; error?: { message?: unknown } } | null)?.error?.message ?? (value as { reason?: unknown } | null)?.reason
    return { ok: false, status: res.statusCode, error: { name: `HTTP ${res.statusCode}`, message: typeof reason === 'string' ? reason : (STATUS_CODES[res.statusCode] ?? 'error') } }
  }

  return { handle, describeFailure, subscribe, call }
}
