import { BaseError } from '../../errors/BaseError.ts'

/** A profile file that cannot be read or does not validate; lists every problem with its JSON path. */
export class ProfileFileError extends BaseError {
  override name = 'ProfileFileError' as const
  readonly file: string
  readonly problems: string[]
  constructor({ file, problems, cause }: { file: string; problems: string[]; cause?: unknown }) {
    super(problems.length === 1 ? `${file}: ${problems[0]}` : `${file}: invalid profile (${problems.length} problems)`, {
      metaMessages: problems.length === 1 ? undefined : problems.map((p) => `${file}: ${p}`),
      details: problems.map((p) => `${file}: ${p}`).join('; '),
      cause,
    })
    this.file = file
    this.problems = problems
  }
}

/** A registry lookup or registration that cannot be honoured. */
export class DriverRegistryError extends BaseError {
  override name = 'DriverRegistryError' as const
}

/** Reading a profile device failed; the Modbus error is the cause. */
export class ProfileReadError extends BaseError {
  override name = 'ProfileReadError' as const
  constructor({ device, unitId, address, count, fn, cause }: { device: string; unitId: number; address: number; count: number; fn: 'holding' | 'input'; cause: unknown }) {
    super(`${device}: read of ${count} ${fn} register(s) at ${address} (unit ${unitId}) failed`, { cause })
  }
}

/** Writing a profile point failed; the Modbus error is the cause. */
export class ProfileWriteError extends BaseError {
  override name = 'ProfileWriteError' as const
  constructor({ device, point, unitId, address, value, cause }: { device: string; point: string; unitId: number; address: number; value: number; cause: unknown }) {
    super(`${device}: write of ${point}=${value} at ${address} (unit ${unitId}) failed`, { cause })
  }
}
