import type { CommandHandlers } from '../executeCommand.ts'
import { ApiRequestError } from '../ApiRequestError.ts'
import { runScan } from '../installer/runScan.ts'
import type { SiteCommandServices } from './handleSiteDataRoutes.ts'

export type SiteCommandHandlers = Pick<CommandHandlers, 'shelveAlarm' | 'unshelveAlarm' | 'simSetFaults' | 'simClearFaults' | 'simSetClock' | 'scan' | 'commission'>

const noSim = () => new ApiRequestError(404, 'this site does not run on the simulator (serve --sim-api URL, or gridmesh demo): there is no simulator to command')

/**
 * The handlers of part B's commands, for executeCommand (which checks the role, the
 * contract and audits first): shelving as the signed-in user, the simulator through its
 * proxy, scan and commissioning for the installer.
 */
export function createSiteCommandHandlers(services: SiteCommandServices): SiteCommandHandlers {
  return {
    shelveAlarm: (c, principal) => ({ type: 'shelveAlarm', alarm: services.alarms.shelveAlarm(c.id, { by: principal.name, reason: c.reason, durationMs: c.durationMs }) }),
    unshelveAlarm: (c, principal) => ({ type: 'unshelveAlarm', alarm: services.alarms.unshelveAlarm(c.id, principal.name) }),
    simSetFaults: async (c) => {
      if (!services.sim) throw noSim()
      return { type: 'simSetFaults', answer: await services.sim.setFaults(c.device, c.faults) }
    },
    simClearFaults: async (c) => {
      if (!services.sim) throw noSim()
      return { type: 'simClearFaults', answer: await services.sim.clearFaults(c.device) }
    },
    simSetClock: async (c) => {
      if (!services.sim) throw noSim()
      return { type: 'simSetClock', answer: await services.sim.setClock(c.speed) }
    },
    scan: (c) => runScan(c),
    commission: (c) => ({ type: 'commission', job: services.commissions.start(c) }),
  }
}
