import type { IncomingMessage } from 'node:http'
import { ApiRequestError } from './ApiRequestError.ts'

export type CheckSameOriginParameters = {
  /** The address the server listens on and its port: `host:port` and `localhost:port` are its names. */
  host: string
  port: number
  /** True when the server speaks TLS: its own origin is then https. */
  secure: boolean
  /** More names clients reach the server by (a remote bind: the address or DNS name in its certificate). */
  names?: readonly string[]
}

/**
 * Refuses a request that a web page on another origin could have made. The Host must
 * be one of the server's own names (421 otherwise): a page that reaches 127.0.0.1 by DNS
 * rebinding sends its own host name. An Origin, when sent (browsers send it on every
 * WebSocket and POST), must be the server's own (403 otherwise): without this a page on
 * any site, or another port of localhost, could open the event stream or post commands
 * with the session cookie the browser attaches. Clients that send no Origin (curl,
 * scripts) are not browsers and pass.
 */
export function checkSameOrigin(req: IncomingMessage, { host, port, secure, names = [] }: CheckSameOriginParameters): void {
  const hostHeader = req.headers.host ?? ''
  if (![host, 'localhost', ...names].some((name) => hostHeader === `${name.includes(':') ? `[${name}]` : name}:${port}`)) throw new ApiRequestError(421, `Host '${hostHeader}' is not this server (${host}:${port})`)
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `${secure ? 'https' : 'http'}://${hostHeader}`)
    throw new ApiRequestError(403, `Origin '${origin.slice(0, 200)}' is not this server (${secure ? 'https' : 'http'}://${host}:${port}); the API serves pages of its own origin only`)
}
