import type { Principal, Role } from '../contract.ts'
import { ForbiddenError } from './errors.ts'
import { hasRole } from './hasRole.ts'

/**
 * The role each command needs (the HMI plan of issue 12). A command missing here needs
 * installer: a new command is never open to everyone by accident.
 */
export const commandRoles: Readonly<Record<string, Role>> = {
  acknowledgeAlarm: 'operator',
  shelveAlarm: 'operator',
  unshelveAlarm: 'operator',
  setMode: 'operator',
  updateSettings: 'installer',
  simSetFaults: 'installer',
  simClearFaults: 'installer',
  simSetClock: 'installer',
  scan: 'installer',
  commission: 'installer',
}

/** Throws ForbiddenError (403) unless the principal's role may run this command type. */
export function authorizeCommand(principal: Principal, commandType: string): void {
  const needed = Object.hasOwn(commandRoles, commandType) ? commandRoles[commandType]! : 'installer'
  if (!hasRole(principal.role, needed)) throw new ForbiddenError({ role: principal.role, action: commandType, needed })
}
