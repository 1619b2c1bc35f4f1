import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, expect, it } from 'vitest'
import { createStore, type Store } from '../store/createStore.ts'
import { ApiRequestError } from './ApiRequestError.ts'
import { ForbiddenError } from './auth/errors.ts'
import type { AuditEntry, CommandResult, OperatingMode, Principal } from './contract.ts'
import { executeCommand, type CommandHandlers } from './executeCommand.ts'

let store: Store
let mode: OperatingMode
const ran: string[] = []
beforeEach(() => {
  store = createStore({ path: join(mkdtempSync(join(tmpdir(), 'gm-cmd-')), 'store.db') })
  mode = { mode: 'auto', sinceMs: 0, by: 'system' }
  ran.length = 0
})
afterEach(() => store.close())

// Only the commands this test sends; the others are H8's.
const handlers = {
  acknowledgeAlarm: (c, p) => {
    ran.push(`ack ${c.id} by ${p.name}`)
    throw new ApiRequestError(409, `alarm ${c.id} is not open`)
  },
  setMode: (c, p) => {
    ran.push(`setMode ${c.mode} by ${p.name}`)
    mode = { ...(c.mode === 'manual' ? { mode: 'manual', setpointW: c.setpointW!, expiresAtMs: c.expiresInMs! } : { mode: c.mode }), sinceMs: 1, by: p.name } as OperatingMode
    return { type: 'setMode', mode }
  },
  updateSettings: () => {
    throw new Error('not in this test')
  },
} as Partial<CommandHandlers> as CommandHandlers
const ann: Principal = { name: 'ann', role: 'operator', via: 'session' }
const vic: Principal = { name: 'vic', role: 'viewer', via: 'session' }
async function run(body: unknown, principal: Principal) {
  const events: AuditEntry[] = []
  const outcome: { ok?: CommandResult; error?: ApiRequestError } = await executeCommand({ body, principal, handlers, audit: store.audit, now: () => 1234, onAudit: (e) => events.push(e) }).then(
    (r) => ({ ok: r }),
    (e: ApiRequestError) => ({ error: e }),
  )
  return { ...outcome, events }
}

it('runs an allowed, valid command and records who, role, when, what and ok', async () => {
  const body = { type: 'setMode', mode: 'manual', setpointW: -3000, expiresInMs: 600_000 }
  const { ok, events } = await run(body, ann)
  expect(ok).toMatchObject({ type: 'setMode', mode: { mode: 'manual', setpointW: -3000, by: 'ann' } })
  const entry = { id: events[0]!.id, timeMs: 1234, who: 'ann', role: 'operator', via: 'session', command: 'setMode', body, outcome: 'ok', reason: null }
  expect(events).toEqual([entry])
  expect(store.audit.list()).toEqual([entry])
})

it('a viewer is refused with 403 naming the role and the need; the refusal is recorded and nothing ran', async () => {
  const { error, events } = await run({ type: 'setMode', mode: 'self-consumption' }, vic)
  expect(error).toBeInstanceOf(ForbiddenError)
  expect((error as unknown as ForbiddenError).status).toBe(403)
  expect(error!.message).toBe('role viewer cannot setMode (needs operator)')
  expect(events[0]).toMatchObject({ who: 'vic', role: 'viewer', command: 'setMode', outcome: 'refused', reason: 'role viewer cannot setMode (needs operator)' })
  expect(ran).toEqual([])
  expect(mode.mode).toBe('auto')
})

it('a malformed body is a 400 naming the field (also as error.field), recorded, and runs nothing', async () => {
  const cases: [unknown, string | undefined, RegExp][] = [
    [{ type: 'setMode', mode: 'manual', expiresInMs: 60_000 }, 'setpointW', /setpointW: manual mode needs a battery setpoint/],
    [{ type: 'setMode', mode: 'turbo' }, 'mode', /mode: expected one of auto\|self-consumption\|manual, got "turbo"/],
    [{ type: 'setMode', mode: 'auto', setpointW: 5 }, 'setpointW', /only manual mode takes setpointW/],
    [{ type: 'setMode', mode: 'manual', setpointW: 'lots', expiresInMs: 1000 }, 'setpointW', /setpointW: expected number, received string/],
    [{ type: 'setMode', mode: 'auto', extra: 1 }, undefined, /unknown field\(s\) 'extra'/],
    [{ type: 'updateSettings', grid: { maxImportW: -5 } }, 'grid.maxImportW', /grid.maxImportW: .*got -5/],
    [{ type: 'updateSettings', tariff: { importBands: [{ fromHour: 7, toHour: 3, priceEurPerKWh: 0.2 }], defaultImportEurPerKWh: 0.3, exportEurPerKWh: 0 } }, 'tariff.importBands[0].toHour', /toHour must be after fromHour/],
    [{ type: 'updateSettings' }, undefined, /nothing to update/],
    [{ type: 'noSuchCommand' }, 'type', /type: /],
    [[1, 2], undefined, /request body: /],
    ['setMode', undefined, /request body: /],
    [null, undefined, /request body: /],
  ]
  for (const [body, field, message] of cases) {
    const { error, events } = await run(body, { name: 'local', role: 'installer', via: 'token' })
    expect(error, JSON.stringify(body)).toBeInstanceOf(ApiRequestError)
    expect(error!.status).toBe(400)
    expect(error!.field, JSON.stringify(body)).toBe(field)
    expect(error!.message).toMatch(message)
    expect(events[0]).toMatchObject({ who: 'local', outcome: 'refused', body })
  }
  expect(ran).toEqual([])
  expect(store.audit.list()).toHaveLength(cases.length)
})

it("a handler's refusal (409) is recorded with its reason and passed on", async () => {
  const { error, events } = await run({ type: 'acknowledgeAlarm', id: 7 }, ann)
  expect(error!.status).toBe(409)
  expect(events[0]).toMatchObject({ command: 'acknowledgeAlarm', outcome: 'refused', reason: 'alarm 7 is not open' })
})
