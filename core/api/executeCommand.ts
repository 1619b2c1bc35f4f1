import { BaseError } from '../errors/BaseError.ts'
import { describeZodIssue, formatIssuePath } from '../errors/describeZodIssue.ts'
import type { AuditStore } from '../store/createAuditStore.ts'
import { ApiRequestError } from './ApiRequestError.ts'
import { authorizeCommand } from './auth/authorizeCommand.ts'
import { commandSchema, type AuditEntry, type Command, type CommandResult, type Principal } from './contract.ts'

/** What runs each command once it is valid and allowed; one entry per command type. */
export type CommandHandlers = { [K in Command['type']]: (command: Extract<Command, { type: K }>, principal: Principal) => CommandResult | Promise<CommandResult> }

export type ExecuteCommandParameters = {
  /** The request body as parsed JSON, not yet validated. */
  body: unknown
  principal: Principal
  /** The server's handlers; a command without one is answered 404 (recorded as refused). */
  handlers: Partial<CommandHandlers>
  audit: Pick<AuditStore, 'record'>
  now: () => number
  /** Every recorded entry, as it is recorded (the `audit` event). */
  onAudit?: (entry: AuditEntry) => void
}

/**
 * One command from the API (or IPC): the principal's role first (403 naming the role and
 * what is needed), then the contract (400 naming the field), then its handler. Every
 * command, allowed or refused, is recorded with who, role, when, what and the outcome
 * before the answer goes out; a refused command has changed nothing.
 */
export async function executeCommand({ body, principal, handlers, audit, now, onAudit }: ExecuteCommandParameters): Promise<CommandResult> {
  const rawType = body !== null && typeof body === 'object' && !Array.isArray(body) ? (body as { type?: unknown }).type : undefined
  const type = typeof rawType === 'string' && rawType.length <= 64 ? rawType : null
  const record = (outcome: 'ok' | 'refused', reason: string | null) => {
    const entry = audit.record({ timeMs: now(), who: principal.name, role: principal.role, via: principal.via, command: type, body, outcome, reason }) as AuditEntry
    onAudit?.(entry)
  }
  let command: Command
  try {
    // The role is checked before the body: a role that may not send a command learns nothing about its fields.
    if (type !== null) authorizeCommand(principal, type)
    const parsed = commandSchema.safeParse(body)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      const field = formatIssuePath(issue.path) || undefined
      throw new ApiRequestError(400, `request body: ${parsed.error.issues.map((i) => describeZodIssue(i, body)).join('; ')}`, field)
    }
    command = parsed.data
  } catch (error) {
    record('refused', (error as BaseError).shortMessage ?? (error as Error).message)
    throw error
  }
  let result: CommandResult
  try {
    const handler = handlers[command.type] as ((c: Command, p: Principal) => CommandResult | Promise<CommandResult>) | undefined
    if (!handler) throw new ApiRequestError(404, `${command.type} is not available on this server`)
    result = await handler(command, principal)
  } catch (error) {
    record('refused', error instanceof BaseError ? error.shortMessage : `failed: ${(error as Error).message}`)
    throw error
  }
  record('ok', null)
  return result
}
