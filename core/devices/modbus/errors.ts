import { BaseError } from '../../errors/BaseError.ts'

export type ModbusTarget = { endpoint: string; unitId: number }

const exceptionNames: Record<number, string> = {
  1: 'Illegal Function',
  2: 'Illegal Data Address',
  3: 'Illegal Data Value',
  4: 'Server Device Failure',
  5: 'Acknowledge',
  6: 'Server Device Busy',
  8: 'Memory Parity Error',
  10: 'Gateway Path Unavailable',
  11: 'Gateway Target Device Failed to Respond',
}

/** The device answered with a Modbus exception. Not retried: asking again gets the same answer. */
export class ModbusExceptionError extends BaseError {
  override name = 'ModbusExceptionError' as const
  readonly code: number
  readonly functionCode: number
  constructor({ endpoint, unitId, functionCode, code, address }: ModbusTarget & { functionCode: number; code: number; address: number }) {
    super(`${endpoint} unit ${unitId}: exception ${code} (${exceptionNames[code] ?? 'unknown'}) to function 0x${functionCode.toString(16).padStart(2, '0')} at address ${address}`)
    this.code = code
    this.functionCode = functionCode
  }
}

/** No (complete) answer within the timeout. */
export class ModbusTimeoutError extends BaseError {
  override name = 'ModbusTimeoutError' as const
  constructor({ endpoint, unitId, timeoutMs, address }: ModbusTarget & { timeoutMs: number; address: number }) {
    super(`${endpoint} unit ${unitId}: no response within ${timeoutMs} ms (request at address ${address})`)
  }
}

/** The connection could not be made, or broke while a request was in flight. */
export class ModbusConnectionError extends BaseError {
  override name = 'ModbusConnectionError' as const
  constructor({ endpoint, reason, cause }: { endpoint: string; reason: string; cause?: unknown }) {
    super(`${endpoint}: ${reason}`, { cause })
  }
}

/** A response that breaks the protocol: wrong unit, function, length, CRC or transaction id. */
export class ModbusFrameError extends BaseError {
  override name = 'ModbusFrameError' as const
  constructor({ endpoint, reason }: { endpoint: string; reason: string }) {
    super(`${endpoint}: malformed response: ${reason}`)
  }
}

/** The unit failed repeatedly and is skipped until its backoff ends, so it cannot stall the others. */
export class ModbusDeviceBackoffError extends BaseError {
  override name = 'ModbusDeviceBackoffError' as const
  constructor({ endpoint, unitId, untilMs, failures }: ModbusTarget & { untilMs: number; failures: number }) {
    super(`${endpoint} unit ${unitId}: skipped after ${failures} consecutive failures; next try in ${Math.max(0, Math.ceil((untilMs - Date.now()) / 1000))} s`)
  }
}

/** True for failures worth retrying (timeouts, broken connections, garbled frames). */
export function isTransient(error: unknown): boolean {
  return error instanceof ModbusTimeoutError || error instanceof ModbusConnectionError || error instanceof ModbusFrameError
}
