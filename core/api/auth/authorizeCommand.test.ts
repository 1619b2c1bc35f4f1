import { expect, it } from 'vitest'
import type { Principal, Role } from '../contract.ts'
import { authorizeCommand } from './authorizeCommand.ts'
import { ForbiddenError } from './errors.ts'

const as = (role: Role): Principal => ({ name: role, role, via: 'session' })
const allowed = (role: Role, type: string) => {
  try {
    authorizeCommand(as(role), type)
    return true
  } catch (error) {
    if (!(error instanceof ForbiddenError)) throw error
    return false
  }
}

it('viewer writes nothing, operator runs the alarms and mode, installer everything', () => {
  const commands = ['acknowledgeAlarm', 'shelveAlarm', 'unshelveAlarm', 'setMode', 'updateSettings', 'simSetFaults', 'simClearFaults', 'simSetClock', 'scan', 'commission']
  expect(commands.filter((c) => allowed('viewer', c))).toEqual([])
  expect(commands.filter((c) => allowed('operator', c))).toEqual(['acknowledgeAlarm', 'shelveAlarm', 'unshelveAlarm', 'setMode'])
  expect(commands.filter((c) => allowed('installer', c))).toEqual(commands)
})

it('names the role, the command and what it needs; an unknown command needs installer', () => {
  expect(() => authorizeCommand(as('viewer'), 'setMode')).toThrow('role viewer cannot setMode (needs operator)')
  expect(() => authorizeCommand(as('operator'), 'formatDisk')).toThrow('role operator cannot formatDisk (needs installer)')
  expect(() => authorizeCommand(as('operator'), 'toString')).toThrow('(needs installer)')
  expect(allowed('installer', 'formatDisk')).toBe(true)
})
