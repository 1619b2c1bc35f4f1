// A TCP proxy between the live market's nodes and the chain's RPC endpoint, so a test can
// cut the chain off (an RPC outage: the port refuses connections and every open one is
// dropped) and bring it back on the same port, while the test itself still reads the chain
// directly.
import { createConnection, createServer, type Server, type Socket } from 'node:net'

export type RpcProxy = {
  /** http://127.0.0.1:<port>, the URL the nodes are given */
  url: string
  port: number
  /** true while connections are forwarded */
  up(): boolean
  /** closes the port and drops every open connection (both sides) */
  cut(): Promise<void>
  /** listens again on the same port */
  restore(): Promise<void>
  /** cut() for good */
  close(): Promise<void>
}

/** Forwards 127.0.0.1:<free port> to `target` (host:port) until cut or closed. */
export async function startRpcProxy(target: { host: string; port: number }): Promise<RpcProxy> {
  const sockets = new Set<Socket>()
  const track = (s: Socket) => {
    sockets.add(s)
    s.once('close', () => sockets.delete(s))
  }
  let server: Server | null = null
  const listen = (port: number) =>
    new Promise<number>((resolve, reject) => {
      const s = createServer((client) => {
        track(client)
        const upstream = createConnection(target)
        track(upstream)
        client.pipe(upstream).pipe(client)
        client.once('error', () => upstream.destroy())
        upstream.once('error', () => client.destroy())
        client.once('close', () => upstream.destroy())
        upstream.once('close', () => client.destroy())
      })
      s.once('error', reject)
      s.listen(port, '127.0.0.1', () => {
        server = s
        resolve((s.address() as { port: number }).port)
      })
    })
  const port = await listen(0)
  const cut = async () => {
    const s = server
    server = null
    for (const socket of sockets) socket.destroy()
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()))
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    up: () => server !== null,
    cut,
    async restore() {
      if (server) return
      // the port was ours a moment ago; another process could take it in between, which the test would see as a failed listen
      await listen(port)
    },
    close: cut,
  }
}
