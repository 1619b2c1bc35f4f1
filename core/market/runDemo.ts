import { UsageError } from '../errors/BaseError.ts'

/** `gridmesh market demo`: not built yet; says so instead of pretending. */
export async function runDemo(_argv: string[]): Promise<number> {
  throw new UsageError('gridmesh market demo: not implemented yet; see issue 6')
}
