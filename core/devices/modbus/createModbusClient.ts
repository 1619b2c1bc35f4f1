import { isTransient, ModbusDeviceBackoffError, ModbusTimeoutError } from './errors.ts'
import type { ModbusTransport } from './ModbusTransport.ts'

export type ModbusClientOptions = {
  /** Per-request timeout (default 1000 ms). */
  timeoutMs?: number
  /** Retries of transient failures (timeouts, broken connections), default 2. */
  retries?: number
  /** Delay before the first retry; doubles per retry (default 50 ms). */
  retryBackoffMs?: number
  /** Consecutive failed requests after which a unit is skipped for a while (default 3). */
  defectiveAfterFailures?: number
  /**
   * First skip period of a unit that times out behind a connection other units share;
   * doubles while it keeps failing, up to maxDefectiveBackoffMs.
   */
  defectiveBackoffMs?: number
  maxDefectiveBackoffMs?: number
  /**
   * Any other skipped unit (its connection refused or broken, or alone on its connection)
   * is probed in the background this often (default 1000 ms), and used again as soon as a
   * probe is answered: a device that comes back is used within about this long.
   */
  probeIntervalMs?: number
  /** Registers one read may ask for (default 125, the protocol's limit). */
  maxReadRegisters?: number
  now?: () => number
}

export type RequestOptions = { timeoutMs?: number; retries?: number }

export type ModbusClient = {
  readonly transport: ModbusTransport
  readHoldingRegisters(unitId: number, address: number, count: number, options?: RequestOptions): Promise<Uint16Array>
  readInputRegisters(unitId: number, address: number, count: number, options?: RequestOptions): Promise<Uint16Array>
  writeRegisters(unitId: number, address: number, values: readonly number[], options?: RequestOptions): Promise<void>
  /** Reads several ranges with as few requests as the register limit allows (gaps <= maxGap are read through). */
  readBlocks(unitId: number, ranges: readonly { address: number; count: number }[], options?: RequestOptions & { maxGap?: number }): Promise<Map<number, number>>
  /** Health of a unit: consecutive failures and the end of its current skip period. */
  health(unitId: number): { failures: number; skippedUntilMs: number }
  close(): Promise<void>
}

type Health = {
  failures: number
  skippedUntilMs: number
  backoffMs: number
  /** The pending background probe, while the unit is skipped and probing is cheap. */
  probe: NodeJS.Timeout | null
  /** What a probe sends: the unit's last read (never a write), or one register where it last failed. */
  probePdu: Buffer | null
  probeAddress: number
}

/**
 * Requests with retries on one transport, and per-unit failure tracking: a unit that keeps
 * failing is skipped (fails fast), so neither the control cycle nor the live devices behind
 * the same gateway wait for it. How it is tried again depends on what a try costs:
 * - a broken or refused connection, or a unit alone on its connection, is probed in the
 *   background every probeIntervalMs (a refused connect costs a millisecond; a probe that
 *   times out holds up no one) and used again once a probe is answered;
 * - a unit that times out behind a connection others share (a dead device behind a
 *   gateway) would hold up their requests with every try: one probe per backoff period,
 *   doubling up to maxDefectiveBackoffMs.
 */
export function createModbusClient(transport: ModbusTransport, options: ModbusClientOptions = {}): ModbusClient {
  const timeoutMs = options.timeoutMs ?? 1000
  const retries = options.retries ?? 2
  const retryBackoffMs = options.retryBackoffMs ?? 50
  const defectiveAfter = options.defectiveAfterFailures ?? 3
  const firstBackoffMs = options.defectiveBackoffMs ?? 5000
  const maxBackoffMs = options.maxDefectiveBackoffMs ?? 60_000
  const maxRead = options.maxReadRegisters ?? 125
  const probeIntervalMs = options.probeIntervalMs ?? 1000
  const now = options.now ?? Date.now
  const health = new Map<number, Health>()
  let closed = false
  const healthOf = (unitId: number) => {
    let h = health.get(unitId)
    if (!h) health.set(unitId, (h = { failures: 0, skippedUntilMs: 0, backoffMs: firstBackoffMs, probe: null, probePdu: null, probeAddress: 0 }))
    return h
  }
  const recovered = (h: Health) => {
    h.failures = 0
    h.backoffMs = firstBackoffMs
    h.skippedUntilMs = 0
    if (h.probe) clearTimeout(h.probe)
    h.probe = null
  }
  const probeLater = (unitId: number, h: Health) => {
    if (h.probe || closed) return
    h.skippedUntilMs = now() + probeIntervalMs
    h.probe = setTimeout(() => {
      const pdu = h.probePdu ?? Buffer.from([0x03, h.probeAddress >> 8, h.probeAddress & 0xff, 0, 1])
      transport.request(unitId, pdu, { timeoutMs, address: h.probeAddress }).then(
        () => recovered(h),
        (error: unknown) => {
          h.probe = null
          if (!isTransient(error)) recovered(h) // it answered (an exception): it is alive
          else if (h.failures >= defectiveAfter) probeLater(unitId, h)
        },
      )
    }, probeIntervalMs)
    h.probe.unref()
  }

  async function call(unitId: number, pdu: Buffer, address: number, request?: RequestOptions): Promise<Buffer> {
    const h = healthOf(unitId)
    if (h.failures >= defectiveAfter && (h.probe !== null || now() < h.skippedUntilMs)) {
      // The error counts its wait on the wall clock; this client's clock may be another (tests).
      throw new ModbusDeviceBackoffError({ endpoint: transport.endpoint, unitId, untilMs: Date.now() + (h.skippedUntilMs - now()), failures: h.failures })
    }
    if (pdu[0] === 0x03 || pdu[0] === 0x04) h.probePdu = pdu
    h.probeAddress = address
    // A unit in backoff gets one probe and no retries.
    const attempts = h.failures >= defectiveAfter ? 1 : 1 + (request?.retries ?? retries)
    let lastError: unknown
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, retryBackoffMs * 2 ** (attempt - 1)))
      try {
        const response = await transport.request(unitId, pdu, { timeoutMs: request?.timeoutMs ?? timeoutMs, address })
        recovered(h)
        return response
      } catch (error) {
        lastError = error
        if (!isTransient(error)) {
          h.failures = 0 // the device answered: it is alive
          throw error
        }
      }
    }
    h.failures++
    if (h.failures >= defectiveAfter) {
      const shared = [...health.keys()].some((other) => other !== unitId)
      if (lastError instanceof ModbusTimeoutError && shared) {
        h.skippedUntilMs = now() + h.backoffMs
        h.backoffMs = Math.min(maxBackoffMs, h.backoffMs * 2)
      } else probeLater(unitId, h)
    }
    throw lastError
  }

  const read = async (fc: 3 | 4, unitId: number, address: number, count: number, request?: RequestOptions) => {
    if (!Number.isInteger(count) || count < 1 || count > 125) throw new RangeError(`read of ${count} registers: expected 1..125`)
    if (!Number.isInteger(address) || address < 0 || address + count > 0x10000) throw new RangeError(`read at ${address}: expected an address 0..65535`)
    const pdu = Buffer.from([fc, address >> 8, address & 0xff, count >> 8, count & 0xff])
    const response = await call(unitId, pdu, address, request)
    const words = new Uint16Array(count)
    for (let i = 0; i < count; i++) words[i] = response.readUInt16BE(2 + i * 2)
    return words
  }

  return {
    transport,
    readHoldingRegisters: (unitId, address, count, request) => read(3, unitId, address, count, request),
    readInputRegisters: (unitId, address, count, request) => read(4, unitId, address, count, request),
    async writeRegisters(unitId, address, values, request) {
      if (values.length < 1 || values.length > 123) throw new RangeError(`write of ${values.length} registers: expected 1..123`)
      const pdu = Buffer.allocUnsafe(6 + values.length * 2)
      pdu[0] = 0x10
      pdu.writeUInt16BE(address, 1)
      pdu.writeUInt16BE(values.length, 3)
      pdu[5] = values.length * 2
      values.forEach((v, i) => pdu.writeUInt16BE(v & 0xffff, 6 + i * 2))
      await call(unitId, pdu, address, request)
    },
    async readBlocks(unitId, ranges, request) {
      const maxGap = request?.maxGap ?? 10
      const sorted = [...ranges].filter((r) => r.count > 0).sort((a, b) => a.address - b.address)
      const blocks: { address: number; end: number }[] = []
      for (const r of sorted) {
        const last = blocks.at(-1)
        const end = r.address + r.count
        if (last && r.address - last.end <= maxGap && Math.max(end, last.end) - last.address <= maxRead) last.end = Math.max(last.end, end)
        else blocks.push({ address: r.address, end })
      }
      const out = new Map<number, number>()
      for (const block of blocks) {
        for (let from = block.address; from < block.end; from += maxRead) {
          const count = Math.min(maxRead, block.end - from)
          const words = await read(3, unitId, from, count, request)
          words.forEach((w, i) => out.set(from + i, w))
        }
      }
      return out
    },
    health(unitId) {
      const h = healthOf(unitId)
      return { failures: h.failures, skippedUntilMs: h.skippedUntilMs }
    },
    close() {
      closed = true
      for (const h of health.values()) if (h.probe) clearTimeout(h.probe)
      return transport.close()
    },
  }
}
