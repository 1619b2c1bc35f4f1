import type { z } from 'zod'
import { describeZodIssue, formatIssuePath } from '../core/errors/describeZodIssue.ts'
import { IpcRequestError } from './IpcRequestError.ts'

/** A payload as its schema types it, or a 400 naming every bad field and what it got (the HTTP server's wording). */
export function parseIpcPayload<T extends z.ZodType>(schema: T, payload: unknown, where: string): z.infer<T> {
  const parsed = schema.safeParse(payload)
  if (parsed.success) return parsed.data
  const first = parsed.error.issues[0]
  throw new IpcRequestError(400, `${where}: ${parsed.error.issues.map((i) => describeZodIssue(i, payload)).join('; ')}`, first ? formatIssuePath(first.path) || undefined : undefined)
}
