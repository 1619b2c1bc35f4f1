import { createServer, type Server, type Socket } from 'node:net'
import { readMbapFrame } from '../../core/devices/modbus/readMbapFrame.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

export type TcpEndpoint = {
  readonly host: string
  readonly port: number
  /** Drops every open connection (the 'disconnect' fault). */
  dropConnections(): number
  close(): Promise<void>
}

const mbapLength = 7

/**
 * Modbus TCP server on one host:port. Frames are MBAP (transaction, protocol 0, length,
 * unit) + PDU; requests on one connection are answered in order. A frame with a wrong
 * protocol id or an impossible length closes that connection (it cannot be resynchronised).
 */
export function createTcpServer(host: string, port: number, dispatcher: UnitDispatcher): Promise<TcpEndpoint> {
  const sockets = new Set<Socket>()
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
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
      for (;;) {
        const read = readMbapFrame(pending, 2)
        if (read.kind === 'incomplete') break
        if (read.kind === 'bad') {
          dispatcher.log(`tcp ${host}:${port}: malformed MBAP header from ${socket.remoteAddress}:${socket.remotePort} (protocol ${read.protocol}, length ${read.length}); closing the connection`)
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
          socket.write(frame)
          continue
        }
        const previous: Promise<void> = queue ?? Promise.resolve()
        const mine: Promise<void> = previous
          .then(() => new Promise<void>((resolve) => setTimeout(resolve, delayMs)))
          .then(() => {
            if (!socket.destroyed) socket.write(frame)
            if (queue === mine) queue = null
          })
        queue = mine
      }
    })
    socket.on('error', (error) => dispatcher.log(`tcp ${host}:${port}: connection error: ${error.message}`))
    socket.on('close', () => sockets.delete(socket))
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
        close() {
          for (const s of sockets) s.destroy()
          return new Promise((done) => server.close(() => done()))
        },
      })
    })
  })
}
