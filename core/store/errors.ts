import { BaseError } from '../errors/BaseError.ts'

/** The store file cannot be opened as a GridMesh store; the file was left as it was. */
export class StoreOpenError extends BaseError {
  override name = 'StoreOpenError' as const
  readonly path: string
  constructor({ path, problem, expected, existed, cause }: { path: string; problem: string; expected: string; existed: boolean; cause?: unknown }) {
    super(`store ${path}: ${problem}; expected ${expected}.${existed ? ' The file was not changed.' : ''}`, { cause })
    this.path = path
  }
}

/** A value handed to the store is not storable; nothing was written by that call. */
export class StoreInputError extends BaseError {
  override name = 'StoreInputError' as const
  readonly field: string
  constructor({ method, field, expected, got }: { method: string; field: string; expected: string; got: unknown }) {
    super(`${method}: ${field}: expected ${expected}, got ${formatValue(got)}`)
    this.field = field
  }
}

const expectedFor: Record<string, string> = {
  acknowledgeAlarm: 'the id of an unacknowledged or returned-unacknowledged alarm',
  shelveAlarm: 'the id of an alarm that is not normal',
  unshelveAlarm: 'the id of a shelved alarm',
}

/** An alarm command on an id that does not exist, or that the alarm's ISA-18.2 state does not allow (core/store/transitionAlarm.ts). */
export class AlarmNotOpenError extends BaseError {
  override name = 'AlarmNotOpenError' as const
  readonly alarmId: number
  constructor({ method = 'acknowledgeAlarm', alarmId, problem }: { method?: string; alarmId: number; problem: string }) {
    super(`${method}: alarm ${alarmId} ${problem}; expected ${expectedFor[method] ?? 'an open alarm'}`)
    this.alarmId = alarmId
  }
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
