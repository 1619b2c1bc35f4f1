// A deliberately dumb Modbus TCP client for tests: it sends exactly the bytes it is given
// (so tests can send malformed frames) and hands back whole response frames.
import { connect, type Socket } from 'node:net'

export type RawFrame = { transaction: number; unitId: number; pdu: Buffer }

export class RawModbusTcp {
  private buffer: Buffer = Buffer.alloc(0)
  private waiters: ((frame: RawFrame | null) => void)[] = []
  private frames: RawFrame[] = []
  private transaction = 1
  closed = false

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk])
      while (this.buffer.length >= 7 && this.buffer.length >= 6 + this.buffer.readUInt16BE(4)) {
        const length = this.buffer.readUInt16BE(4)
        const frame = { transaction: this.buffer.readUInt16BE(0), unitId: this.buffer[6]!, pdu: this.buffer.subarray(7, 6 + length) }
        this.buffer = this.buffer.subarray(6 + length)
        const waiter = this.waiters.shift()
        if (waiter) waiter(frame)
        else this.frames.push(frame)
      }
    })
    socket.on('close', () => {
      this.closed = true
      for (const w of this.waiters.splice(0)) w(null)
    })
    socket.on('error', () => {})
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawModbusTcp> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new RawModbusTcp(socket)))
      socket.once('error', reject)
    })
  }

  /** Next response frame, or null if the connection closed or `timeoutMs` passed. */
  next(timeoutMs = 2000): Promise<RawFrame | null> {
    const ready = this.frames.shift()
    if (ready) return Promise.resolve(ready)
    if (this.closed) return Promise.resolve(null)
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        resolve(null)
      }, timeoutMs)
      const waiter = (frame: RawFrame | null) => {
        clearTimeout(timer)
        resolve(frame)
      }
      this.waiters.push(waiter)
    })
  }

  sendRaw(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.from(bytes))
  }

  /** Wraps a PDU in an MBAP header and sends it. */
  send(unitId: number, pdu: number[] | Buffer): number {
    const body = Buffer.from(pdu)
    const header = Buffer.alloc(7)
    const transaction = this.transaction++ & 0xffff
    header.writeUInt16BE(transaction, 0)
    header.writeUInt16BE(0, 2)
    header.writeUInt16BE(body.length + 1, 4)
    header[6] = unitId
    this.socket.write(Buffer.concat([header, body]))
    return transaction
  }

  async request(unitId: number, pdu: number[] | Buffer, timeoutMs?: number): Promise<Buffer | null> {
    this.send(unitId, pdu)
    return (await this.next(timeoutMs))?.pdu ?? null
  }

  async readHolding(unitId: number, address: number, count: number): Promise<number[]> {
    const pdu = await this.request(unitId, [0x03, address >> 8, address & 0xff, count >> 8, count & 0xff])
    if (!pdu) throw new Error(`no response reading ${count} at ${address}`)
    if (pdu[0] !== 0x03) throw new Error(`exception ${pdu[1]} reading ${count} at ${address}`)
    return Array.from({ length: count }, (_, i) => pdu.readUInt16BE(2 + i * 2))
  }

  async writeMultiple(unitId: number, address: number, values: number[]): Promise<Buffer | null> {
    const body = [0x10, address >> 8, address & 0xff, values.length >> 8, values.length & 0xff, values.length * 2]
    for (const v of values) body.push((v >> 8) & 0xff, v & 0xff)
    return this.request(unitId, body)
  }

  close(): void {
    this.socket.destroy()
  }
}
