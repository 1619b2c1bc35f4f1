import { SerialPort } from 'serialport'
import { crc16 } from '../../core/devices/modbus/crc16.ts'
import { parseRtuRequest } from './parseRtuRequest.ts'
import { rtuRequestLength } from './rtuRequestLength.ts'
import type { UnitDispatcher } from './UnitDispatcher.ts'

/** The line's backlog, and the limits it is held to. */
export type RtuLineStats = {
  /** Answers written but not yet taken by the serial driver. */
  bufferedBytes: number
  peakBufferedBytes: number
  /** Received bytes not yet framed. */
  unparsedBytes: number
  /** Answers waiting for their turn (in order, after any delay fault). */
  queuedAnswers: number
  /** Requests dropped unanswered because answers were still waiting. */
  droppedRequests: number
  limits: { bufferedBytes: number; unparsedBytes: number; queuedAnswers: number }
}

export type RtuEndpoint = {
  readonly path: string
  stats(): RtuLineStats
  close(): Promise<void>
}

// A serial line is half duplex: a master waits for each answer before the next request,
// and a device that is still answering does not hear one. So requests that arrive while
// the serial stream refuses more (write() returned false) or this many answers wait are
// dropped unanswered, as a busy device would, instead of queued without bound. (Pausing
// the line instead would leave a read and a write waiting on one descriptor, which the
// serialport poller cannot do: it polls for the last one asked.) No RTU frame is longer
// than 256 bytes (Modbus over serial line, 2.5.1), so bytes that pile up past a few
// frames without forming one are garbage.
const maxQueuedAnswers = 16
const maxUnparsedBytes = 1024
const maxAnswerBytes = 256

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
  let queued = 0
  let peakBufferedBytes = 0
  let garbageBytes = 0
  let dropped = 0
  let droppingSince = 0
  // writableNeedDrain: a write returned false and the stream has not drained since.
  const blocked = () => port.writableNeedDrain || queued >= maxQueuedAnswers

  const handleFrame = (frame: Buffer) => {
    const request = parseRtuRequest(frame)
    if (request.kind === 'fragment') {
      dispatcher.log(`rtu ${options.path}: dropped a ${frame.length}-byte fragment`)
      return
    }
    if (request.kind === 'bad-crc') {
      dispatcher.log(`rtu ${options.path}: dropped a ${frame.length}-byte frame with a bad CRC (${frame.subarray(0, 64).toString('hex')}${frame.length > 64 ? '…' : ''})`)
      return
    }
    const { unitId } = request
    const { pdu, delayMs } = dispatcher.dispatch(unitId, request.pdu)
    if (!pdu || unitId === 0) return
    const out = Buffer.allocUnsafe(pdu.length + 3)
    out[0] = unitId
    pdu.copy(out, 1)
    out.writeUInt16LE(crc16(out, pdu.length + 1), pdu.length + 1)
    queued++
    chain = chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
      queued--
      if (port.isOpen) {
        port.write(out)
        if (port.writableLength > peakBufferedBytes) peakBufferedBytes = port.writableLength
      }
      resolve()
    }, delayMs)))
  }

  const drain = () => {
    for (;;) {
      const length = rtuRequestLength(pending)
      if (length === null || pending.length < length) return
      const frame = pending.subarray(0, length)
      pending = pending.subarray(length)
      if (blocked()) {
        if (dropped === droppingSince) dispatcher.log(`rtu ${options.path}: busy (${queued} answers waiting, ${port.writableLength} bytes unsent): dropping requests until the master reads its answers`)
        dropped++
        continue
      }
      if (dropped !== droppingSince) {
        dispatcher.log(`rtu ${options.path}: dropped ${dropped - droppingSince} requests while busy`)
        droppingSince = dropped
      }
      handleFrame(frame)
    }
  }

  const armSilence = () => {
    if (silenceTimer) clearTimeout(silenceTimer)
    silenceTimer = null
    if (pending.length) {
      silenceTimer = setTimeout(() => {
        // Silence ends whatever is left: an unknown function code or garbage.
        const rest = pending
        pending = Buffer.alloc(0)
        if (garbageBytes) dispatcher.log(`rtu ${options.path}: dropped ${garbageBytes} bytes without a frame in all`)
        garbageBytes = 0
        if (rest.length) handleFrame(rest)
      }, Math.max(2, silenceMs * 4))
    }
  }

  port.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk
    drain()
    if (pending.length > maxUnparsedBytes) {
      if (!garbageBytes) dispatcher.log(`rtu ${options.path}: dropped ${pending.length} bytes without a frame (no request is longer than 256 bytes; starts ${pending.subarray(0, 16).toString('hex')}); dropping more until the line is silent`)
      garbageBytes += pending.length
      pending = Buffer.alloc(0)
    }
    armSilence()
  })
  port.on('error', (error) => dispatcher.log(`rtu ${options.path}: ${error.message}`))

  return new Promise((resolve, reject) => {
    port.open((error) => {
      if (error) return reject(error)
      resolve({
        path: options.path,
        stats: () => ({
          bufferedBytes: port.writableLength,
          peakBufferedBytes,
          unparsedBytes: pending.length,
          queuedAnswers: queued,
          droppedRequests: dropped,
          limits: { bufferedBytes: port.writableHighWaterMark + maxQueuedAnswers * maxAnswerBytes, unparsedBytes: maxUnparsedBytes, queuedAnswers: maxQueuedAnswers },
        }),
        close() {
          if (silenceTimer) clearTimeout(silenceTimer)
          return new Promise((done) => (port.isOpen ? port.close(() => done()) : done()))
        },
      })
    })
  })
}
