import type { SiteController } from '../../control/createSiteController.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import type { CommandHandlers } from '../executeCommand.ts'

/** What part A's commands need of the site: its alarms, operating mode and settings (optional: a backend without them answers 404). */
export type CoreCommandBackend = Pick<SiteController, 'acknowledgeAlarm'> & Partial<Pick<SiteController, 'operatingMode' | 'settings'>>

/**
 * Handlers of acknowledgeAlarm, setMode and updateSettings for executeCommand (which has
 * checked the role and the contract, and audits): each acts as the signed-in principal;
 * only the local owner's token may name who acknowledged an alarm (`by`).
 */
export function createCoreCommandHandlers(backend: CoreCommandBackend): Pick<CommandHandlers, 'acknowledgeAlarm' | 'setMode' | 'updateSettings'> {
  const missing = (what: string) => new ApiRequestError(404, `this server has no ${what}`)
  return {
    // Only the owner's token may name who acknowledged (a script speaking for a person; the audit keeps 'local'); a signed-in user is always themselves.
    acknowledgeAlarm: (c, principal) => ({ type: 'acknowledgeAlarm', alarm: backend.acknowledgeAlarm(c.id, principal.via === 'token' && c.by ? c.by : principal.name) }),
    setMode: (c, principal) => {
      if (!backend.operatingMode) throw missing('operating mode')
      const { type: _type, ...mode } = c
      return { type: 'setMode', mode: backend.operatingMode.set(mode, principal.name) }
    },
    updateSettings: (c, principal) => {
      if (!backend.settings) throw missing('run-time settings')
      const { type: _type, ...change } = c
      return { type: 'updateSettings', settings: backend.settings.update(change, principal.name) }
    },
  }
}
