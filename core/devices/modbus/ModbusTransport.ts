/**
 * One connection to a Modbus endpoint (a TCP socket or a serial line). Requests are
 * strictly sequential: `request` queues and resolves with the response PDU of the same
 * unit and function, or rejects with one of the errors in errors.ts.
 */
export type ModbusTransport = {
  /** `tcp://host:port` or `rtu:/dev/ttyUSB0`, for messages. */
  readonly endpoint: string
  request(unitId: number, pdu: Buffer, options: { timeoutMs: number; address: number }): Promise<Buffer>
  /** Requests waiting behind the one in flight. */
  readonly queued: number
  close(): Promise<void>
}

type Job = { run: () => Promise<void> }

/** A FIFO that runs one job at a time: a socket or a bus has one request in flight. */
export function createRequestQueue() {
  const jobs: Job[] = []
  let running = false
  const pump = async () => {
    if (running) return
    running = true
    for (let job = jobs.shift(); job; job = jobs.shift()) await job.run()
    running = false
  }
  return {
    get length() {
      return jobs.length
    },
    push<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        jobs.push({ run: () => task().then(resolve, reject) })
        void pump()
      })
    },
  }
}

/** Checks a response PDU against its request: exception, function code and byte count. */
export function expectedResponseLength(requestPdu: Buffer): number | null {
  switch (requestPdu[0]) {
    case 0x03:
    case 0x04:
      return 2 + 2 * requestPdu.readUInt16BE(3)
    case 0x06:
    case 0x10:
      return 5
    default:
      return null
  }
}
