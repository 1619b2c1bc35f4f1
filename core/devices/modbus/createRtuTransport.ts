import { SerialPort } from 'serialport'
import { crc16 } from './crc16.ts'
import { ModbusConnectionError, ModbusExceptionError, ModbusFrameError, ModbusTimeoutError } from './errors.ts'
import type { ModbusTransport } from './ModbusTransport.ts'
import { readRtuResponse } from './readRtuResponse.ts'

export type RtuTransportOptions = {
  path: string
  baudRate: number
  parity?: 'none' | 'even' | 'odd'
  stopBits?: 1 | 2
  log?: (message: string) => void
}

type Pending = { unitId: number; pdu: Buffer; timeoutMs: number; address: number; resolve: (pdu: Buffer) => void; reject: (e: Error) => void }

/**
 * Modbus RTU client on a serial line: frames with CRC, one request on the bus at a time,
 * and at least 3.5 character times of silence before each request (1.75 ms above 19200
 * baud, as the serial-line spec fixes it).
 */
export function createRtuTransport(options: RtuTransportOptions): ModbusTransport {
  const endpoint = `rtu:${options.path}`
  const log = options.log ?? (() => {})
  const parity = options.parity ?? 'none'
  const stopBits = options.stopBits ?? 1
  const bitsPerChar = 1 + 8 + (parity === 'none' ? 0 : 1) + stopBits
  const silenceMs = options.baudRate > 19_200 ? 1.75 : (3.5 * bitsPerChar * 1000) / options.baudRate
  const port = new SerialPort({ path: options.path, baudRate: options.baudRate, parity, stopBits, dataBits: 8, autoOpen: false })
  const queue: Pending[] = []
  let inFlight: (Pending & { timer: NodeJS.Timeout }) | null = null
  let buffer: Buffer = Buffer.alloc(0)
  let lastTrafficAt = 0
  let opening: Promise<void> | null = null
  let closed = false
  /** A job has left the queue and waits for the port or the line's silence. */
  let starting = false

  port.on('error', (error) => log(`${endpoint}: ${error.message}`))
  port.on('data', (chunk: Buffer) => {
    lastTrafficAt = performance.now()
    const job = inFlight
    if (!job) {
      log(`${endpoint}: dropped ${chunk.length} unexpected byte(s) (a late answer or line noise)`)
      return
    }
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk
    const read = readRtuResponse(buffer, job.unitId, job.pdu)
    if (read.kind === 'incomplete') return
    buffer = Buffer.alloc(0)
    inFlight = null
    clearTimeout(job.timer)
    if (read.kind === 'ok') job.resolve(read.pdu)
    else if (read.kind === 'exception') job.reject(new ModbusExceptionError({ endpoint, unitId: job.unitId, functionCode: job.pdu[0]!, code: read.code, address: job.address }))
    else job.reject(new ModbusFrameError({ endpoint, reason: read.reason }))
    next()
  })

  const open = (): Promise<void> => {
    if (port.isOpen) return Promise.resolve()
    opening ??= new Promise<void>((resolve, reject) =>
      port.open((error) => (error ? reject(new ModbusConnectionError({ endpoint, reason: `cannot open: ${error.message}`, cause: error })) : resolve())),
    ).finally(() => {
      opening = null
    })
    return opening
  }

  const send = (job: Pending) => {
    const frame = Buffer.allocUnsafe(job.pdu.length + 3)
    frame[0] = job.unitId
    job.pdu.copy(frame, 1)
    frame.writeUInt16LE(crc16(frame, job.pdu.length + 1), job.pdu.length + 1)
    buffer = Buffer.alloc(0)
    const timer = setTimeout(() => {
      if (inFlight?.pdu !== job.pdu) return
      inFlight = null
      buffer = Buffer.alloc(0)
      job.reject(new ModbusTimeoutError({ endpoint, unitId: job.unitId, timeoutMs: job.timeoutMs, address: job.address }))
      next()
    }, job.timeoutMs)
    inFlight = { ...job, timer }
    port.write(frame)
    lastTrafficAt = performance.now()
  }

  const next = () => {
    if (inFlight || starting || closed) return
    const job = queue.shift()
    if (!job) return
    starting = true
    const go = () => {
      starting = false
      if (closed) return job.reject(new ModbusConnectionError({ endpoint, reason: 'transport closed' }))
      send(job)
    }
    open().then(
      () => {
        const wait = lastTrafficAt + silenceMs - performance.now()
        if (wait > 0) setTimeout(go, Math.ceil(wait))
        else go()
      },
      (error: Error) => {
        starting = false
        job.reject(error)
        next()
      },
    )
  }

  return {
    endpoint,
    get queued() {
      return queue.length
    },
    request(unitId, pdu, { timeoutMs, address }) {
      if (closed) return Promise.reject(new ModbusConnectionError({ endpoint, reason: 'transport closed' }))
      return new Promise<Buffer>((resolve, reject) => {
        queue.push({ unitId, pdu, timeoutMs, address, resolve, reject })
        next()
      })
    },
    async close() {
      closed = true
      for (const job of queue.splice(0)) job.reject(new ModbusConnectionError({ endpoint, reason: 'transport closed' }))
      if (inFlight) {
        clearTimeout(inFlight.timer)
        inFlight.reject(new ModbusConnectionError({ endpoint, reason: 'transport closed' }))
        inFlight = null
      }
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()))
    },
  }
}
