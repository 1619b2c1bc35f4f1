import type { SiteController } from '../../control/createSiteController.ts'
import type { DeviceDriver } from '../../devices/capabilities.ts'
import type { SiteFile } from '../../devices/site/siteFileSchema.ts'
import type { LiveMarketView } from '../../market/live/liveMarketView.ts'
import type { Store } from '../../store/createStore.ts'
import type { MarketResult } from '../contract.ts'
import { createDeviceInspector } from '../devices/createDeviceInspector.ts'
import { createCommissionJobs } from '../installer/createCommissionJobs.ts'
import { createLiveMarketFeed } from '../market/createLiveMarketFeed.ts'
import { readMarketLedger } from '../market/readMarketLedger.ts'
import { createSimProxy } from '../sim/createSimProxy.ts'
import type { SiteCommandServices } from './handleSiteDataRoutes.ts'

export type SiteDataServicesParameters = {
  site: SiteFile
  /** Instrumented drivers (core/devices/instrumentDriver.ts) carry their read latency and errors to /api/devices. */
  drivers: readonly DeviceDriver[]
  store: Store
  controller: Pick<SiteController, 'latest' | 'shelveAlarm' | 'unshelveAlarm'>
  now: () => number
  /** The simulator's control API when the site runs on it (demo, serve --sim-api). */
  simApiUrl?: string | undefined
  /** A market ledger from `gridmesh market demo --ledger FILE` (serve --market-ledger). */
  marketLedgerFile?: string | undefined
  /** This process trades or clears (core/trading): GET /api/market answers its ledger and state, and its events go out as `market` events. */
  liveMarket?: LiveMarketView | undefined
  /** Where a live market node's malformed answer or event is reported. */
  log?: ((message: string) => void) | undefined
}

/** Everything the HMI's part-B routes and commands read and command, for one running site. */
export function createSiteDataServices(p: SiteDataServicesParameters): SiteCommandServices {
  const addresses = new Map(p.site.devices.map((d) => [d.name, { address: d.connection.type === 'tcp' ? `${d.connection.host}:${d.connection.port}` : d.connection.path, unitId: d.unitId }]))
  const live = p.liveMarket ? createLiveMarketFeed(p.liveMarket, p.log ?? (() => {})) : null
  const market = (): Promise<MarketResult> | MarketResult => {
    if (live) return live.answer()
    if (p.marketLedgerFile) return readMarketLedger(p.marketLedgerFile)
    // Say why there is no live market instead of showing nothing or something made up.
    if (p.site.market) return { available: false, reason: p.site.market.site ? `the site file's market section names site ${p.site.market.site.id}, but this process runs no live market node for it (see the service's log for why)` : `the site file's market section names no site (market.site: id and key files), so this serve does not trade; a market demo's ledger can be shown with serve --market-ledger FILE` }
    return { available: false, reason: 'this site has no market; run gridmesh market demo --ledger FILE and serve --market-ledger FILE to see one' }
  }
  return {
    store: p.store,
    now: p.now,
    siteName: p.site.name,
    devices: createDeviceInspector({ drivers: p.drivers, addresses, latest: () => p.controller.latest() }),
    sim: p.simApiUrl ? createSimProxy({ apiUrl: p.simApiUrl }) : null,
    market,
    marketEvents: live?.onEvent ?? null,
    commissions: createCommissionJobs({ controlled: p.site.devices }),
    alarms: p.controller,
  }
}
