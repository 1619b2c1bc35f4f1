// Raw HTTP/1.1 over a socket for tests that probe servers as a hostile client would:
// fetch and http.request normalise the paths and headers those probes depend on.
import { connect } from 'node:net'

/** Sends `request` byte for byte and resolves with everything the server sends before it closes. */
export function rawHttp(port: number, request: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      text += d
      // A switched protocol stays open: its head is the whole answer.
      if (text.startsWith('HTTP/1.1 101 ') && text.includes('\r\n\r\n')) {
        socket.destroy()
        resolve(text)
      }
    })
    socket.on('end', () => resolve(text))
    socket.on('error', reject)
    // Not a timing assertion: a server that never answers fails the caller's check instead of hanging the run.
    socket.setTimeout(10_000, () => {
      socket.destroy()
      resolve(text)
    })
    socket.write(request)
  })
}

/** A GET with `connection: close` and the given headers (a `host` header unless one is given). */
export function rawGet(port: number, path: string, headers: Record<string, string> = {}, method = 'GET', body = ''): Promise<string> {
  const all = { host: `127.0.0.1:${port}`, connection: 'close', ...(body && { 'content-length': String(Buffer.byteLength(body)) }), ...headers }
  return rawHttp(port, `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`)
}

/** The status code of a raw answer (0 when there was none). */
export const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0)

/** The headers a WebSocket upgrade needs. */
export const upgradeHeaders = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' }
