import { SerialPort } from 'serialport'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { parseRtuRequest } from './parseRtuRequest.ts'
import { rtuRequestLength } from './rtuRequestLength.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

export type RtuEndpoint = {
  readonly path: string
  close(): Promise<void>
}

export type RtuOptions = { path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; stopBits: 1 | 2 }

/**
 * Modbus RTU server on a serial line. Frames end where their function code says or at
 * 3.5 character times of silence; a frame with a bad CRC is dropped unanswered, as the
 * standard requires. Unit 0 is broadcast: executed, never answered.
 */
export function createRtuServer(options: RtuOptions, dispatcher: UnitDispatcher): Promise<RtuEndpoint> {
  const port = new SerialPort({ path: options.path, baudRate: options.baudRate, parity: options.parity, stopBits: options.stopBits, dataBits: 8, autoOpen: false })
  const bitsPerChar = 1 + 8 + (options.parity === 'none' ? 0 : 1) + options.stopBits
  // t3.5: 3.5 characters, but at least 1.75 ms above 19200 baud (Modbus over serial line, 2.5.1.1).
  const silenceMs = Math.max(options.baudRate > 19_200 ? 1.75 : 0, (3.5 * bitsPerChar * 1000) / options.baudRate)
  let pending: Buffer = Buffer.alloc(0)
  let silenceTimer: NodeJS.Timeout | null = null
  let chain: Promise<void> = Promise.resolve()

  const handleFrame = (frame: Buffer) => {
    const request = parseRtuRequest(frame)
    if (request.kind === 'fragment') {
      dispatcher.log(`rtu ${options.path}: dropped a ${frame.length}-byte fragment`)
      return
    }
    if (request.kind === 'bad-crc') {
      dispatcher.log(`rtu ${options.path}: dropped a frame with a bad CRC (${frame.toString('hex')})`)
      return
    }
    const { unitId } = request
    const { pdu, delayMs } = dispatcher.dispatch(unitId, request.pdu)
    if (!pdu || unitId === 0) return
    const out = Buffer.allocUnsafe(pdu.length + 3)
    out[0] = unitId
    pdu.copy(out, 1)
    out.writeUInt16LE(crc16(out, pdu.length + 1), pdu.length + 1)
    chain = chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
      if (port.isOpen) port.write(out)
      resolve()
    }, delayMs)))
  }

  const drain = () => {
    for (;;) {
      const length = rtuRequestLength(pending)
      if (length === null || pending.length < length) return
      const frame = pending.subarray(0, length)
      pending = pending.subarray(length)
      handleFrame(frame)
    }
  }

  port.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    drain()
    if (silenceTimer) clearTimeout(silenceTimer)
    if (pending.length) {
      silenceTimer = setTimeout(() => {
        // Silence ends whatever is left: an unknown function code or garbage.
        const rest = pending
        pending = Buffer.alloc(0)
        if (rest.length) handleFrame(rest)
      }, Math.max(2, silenceMs * 4))
    }
  })
  port.on('error', (error) => dispatcher.log(`rtu ${options.path}: ${error.message}`))

  return new Promise((resolve, reject) => {
    port.open((error) => {
      if (error) return reject(error)
      resolve({
        path: options.path,
        close() {
          if (silenceTimer) clearTimeout(silenceTimer)
          return new Promise((done) => (port.isOpen ? port.close(() => done()) : done()))
        },
      })
    })
  })
}
