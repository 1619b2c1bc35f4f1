import { createServer, type Server, type Socket } from 'node:net'
import { readMbapFrame } from '../../core/devices/modbus/readMbapFrame.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

/** One connection's backlog, and the limits it is held to. */
export type TcpConnectionStats = {
  remote: string
  /** Answers written but not yet taken by the kernel. */
  bufferedBytes: number
  peakBufferedBytes: number
  /** Received bytes not yet framed. */
  unparsedBytes: number
  /** Answers held back by a delay fault. */
  queuedAnswers: number
  /** True while the server does not read this client. */
  paused: boolean
  limits: { bufferedBytes: number; unparsedBytes: number; queuedAnswers: number }
}

export type TcpEndpoint = {
  readonly host: string
  readonly port: number
  /** Drops every open connection (the 'disconnect' fault). */
  dropConnections(): number
  /** Each open connection's backlog. */
  connections(): TcpConnectionStats[]
  close(): Promise<void>
}

const mbapLength = 7
// A client that pipelines requests and does not read the answers is not read either once
// this much waits for it: the kernel then stops its sender, and the server's memory stays
// bounded (a real device has a few hundred bytes of buffer, not the 580 MB this once grew to).
const limits = { bufferedBytes: 64 * 1024, unparsedBytes: 256 * 1024, queuedAnswers: 256 }

/**
 * Modbus TCP server on one host:port. Frames are MBAP (transaction, protocol 0, length,
 * unit) + PDU; requests on one connection are answered in order. A frame with a wrong
 * protocol id or an impossible length closes that connection (it cannot be resynchronised).
 */
export function createTcpServer(host: string, port: number, dispatcher: UnitDispatcher): Promise<TcpEndpoint> {
  const sockets = new Set<Socket>()
  const stats = new Map<Socket, () => TcpConnectionStats>()
  const server: Server = createServer({ noDelay: true }, (socket) => {
    if (dispatcher.refusesConnections()) {
      socket.destroy()
      return
    }
    sockets.add(socket)
    socket.setNoDelay(true)
    let pending: Buffer = Buffer.alloc(0)
    // Responses leave in request order; `queue` is non-null while a delayed one is pending.
    let queue: Promise<void> | null = null
    let queued = 0
    let paused = false
    let peakBufferedBytes = 0
    const remote = `${socket.remoteAddress}:${socket.remotePort}`
    const blocked = () => socket.writableLength >= limits.bufferedBytes || queued >= limits.queuedAnswers
    const send = (frame: Buffer) => {
      socket.write(frame)
      if (socket.writableLength > peakBufferedBytes) peakBufferedBytes = socket.writableLength
    }
    // Frames requests off `pending` until it is empty or the backlog is full; then the socket
    // is paused, and the rest waits in `pending` until the answers drain.
    const pump = () => {
      for (;;) {
        if (blocked()) {
          if (!paused) socket.pause()
          paused = true
          return
        }
        const read = readMbapFrame(pending, 2)
        if (read.kind === 'incomplete') break
        if (read.kind === 'bad') {
          dispatcher.log(`tcp ${host}:${port}: malformed MBAP header from ${remote} (protocol ${read.protocol}, length ${read.length}); closing the connection`)
          socket.destroy()
          return
        }
        const { transaction, unitId, pdu } = read.frame
        pending = read.rest
        const { pdu: reply, delayMs } = dispatcher.dispatch(unitId, pdu)
        if (!reply) continue
        const frame = Buffer.allocUnsafe(mbapLength + reply.length)
        frame.writeUInt16BE(transaction, 0)
        frame.writeUInt16BE(0, 2)
        frame.writeUInt16BE(reply.length + 1, 4)
        frame[6] = unitId
        reply.copy(frame, mbapLength)
        if (delayMs === 0 && queue === null) {
          send(frame)
          continue
        }
        queued++
        const previous: Promise<void> = queue ?? Promise.resolve()
        const mine: Promise<void> = previous
          .then(() => new Promise<void>((resolve) => setTimeout(resolve, delayMs)))
          .then(() => {
            queued--
            if (queue === mine) queue = null
            if (socket.destroyed) return
            send(frame)
            if (paused) resume()
          })
        queue = mine
      }
      if (paused) {
        paused = false
        socket.resume()
      }
    }
    const resume = () => {
      if (!socket.destroyed && !blocked()) pump()
    }
    socket.on('drain', resume)
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      // Unreachable while pausing works (a paused socket delivers no data); the cap keeps it so if it does not.
      if (pending.length > limits.unparsedBytes) {
        dispatcher.log(`tcp ${host}:${port}: ${remote} sent ${pending.length} bytes the server has not framed yet (limit ${limits.unparsedBytes}); closing the connection`)
        socket.destroy()
        return
      }
      pump()
    })
    stats.set(socket, () => ({ remote, bufferedBytes: socket.writableLength, peakBufferedBytes, unparsedBytes: pending.length, queuedAnswers: queued, paused, limits }))
    socket.on('error', (error) => dispatcher.log(`tcp ${host}:${port}: connection error: ${error.message}`))
    socket.on('close', () => {
      sockets.delete(socket)
      stats.delete(socket)
    })
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      server.on('error', (error) => dispatcher.log(`tcp ${host}:${port}: server error: ${error.message}`))
      const address = server.address()
      const bound = typeof address === 'object' && address ? address.port : port
      resolve({
        host,
        port: bound,
        dropConnections() {
          const n = sockets.size
          for (const s of sockets) s.destroy()
          return n
        },
        connections: () => [...stats.values()].map((read) => read()),
        close() {
          for (const s of sockets) s.destroy()
          return new Promise((done) => server.close(() => done()))
        },
      })
    })
  })
}
