import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createSiteController, siteTariff, type FaultSeam, type SiteController } from '../control/createSiteController.ts'
import type { SiteClock } from '../control/createSiteRuntime.ts'
import type { DeviceDriver } from '../devices/capabilities.ts'
import { instrumentDriver } from '../devices/instrumentDriver.ts'
import { createConnectionPool } from '../devices/modbus/createConnectionPool.ts'
import { startDeviceDriver, type StartedDevice } from '../devices/startDeviceDriver.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { BaseError } from '../errors/BaseError.ts'
import { readLoadModel } from '../forecast/readLoadModel.ts'
import type { LoadedLoadModel } from '../forecast/retrainOnSiteHistory.ts'
import { selectBackend } from '../forecast/selectBackend.ts'
import type { LiveMarketView } from '../market/live/liveMarketView.ts'
import { siteControlSchema } from '../site/siteControlSchema.ts'
import { createStore, type Store } from '../store/createStore.ts'
import { mergeLiveViews } from '../trading/mergeLiveViews.ts'
import { startLiveSite, type LiveSite } from '../trading/startLiveSite.ts'
import { createApiServer, type ApiServer } from './createApiServer.ts'
import { lockDataDir } from './lockDataDir.ts'
import { createSiteDataServices } from './routes/createSiteDataServices.ts'
import { protectStoreFiles } from './protectStoreFiles.ts'
import { writeSecretFile } from './writeSecretFile.ts'

export class StartSiteError extends BaseError {
  override name = 'StartSiteError' as const
}

export type StartSiteOptions = {
  site: SiteFile
  /** Where the store, the retrained model and the API token live. */
  dataDir: string
  now?: () => number
  /** A clock stepped with a simulator's (`controller.runtime.runTo`); default real timers on `now`. */
  clock?: SiteClock
  port?: number
  host?: string
  /** Beyond loopback: the API's own flags (serve --allow-remote, --hostname, --tls-cert/--tls-key). */
  allowRemote?: boolean
  hostNames?: string[]
  tls?: { cert: string | Buffer; key: string | Buffer }
  /** Default: the site's own retrained model in dataDir, else the site file's `control.loadModel`, else models/default. */
  loadModelDir?: string
  /** Device staleness and setpoint refresh, in the clock's ms (defaults 10 s and 20 s; a time-warped demo needs more). */
  staleAfterMs?: number
  refreshMs?: number
  log?: (message: string) => void
  /** The simulator's control API when the site runs on it (the demo; serve --sim-api): the HMI's simulator view. */
  simApiUrl?: string
  /** A market ledger to serve at GET /api/market (gridmesh market demo --ledger FILE). */
  marketLedgerFile?: string
  /** Fault injection for the soak campaign (core/soak); never set by serve. */
  faultSeam?: FaultSeam
  /** Also run the community's clearing operator in this process (serve --operator; core/trading/startLiveOperator). */
  operator?: boolean
  /** The site file's folder: the broker's TLS files are relative to it (default the data folder). */
  siteFileDir?: string
}

export type RunningSite = { controller: SiteController; api: ApiServer; store: Store; drivers: DeviceDriver[]; tokenFile: string; modelDir: string | null; stop(): Promise<void> }

const shippedModel = fileURLToPath(new URL('../../models/default', import.meta.url))

/**
 * Starts a site as a service: connects every device of the site file (one that does not
 * answer runs stale and alarmed, retried in the background, until it does), opens the store,
 * loads the load model, runs the controller every cycle and serves the API on
 * 127.0.0.1 with a fresh session token (written to `<dataDir>/api-token`, mode 0600).
 */
export async function startSite(options: StartSiteOptions): Promise<RunningSite> {
  const log = options.log ?? (() => {})
  const { site, dataDir } = options
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // One owner per data folder, taken before any device is touched: a second service would command the same batteries.
  const lock = lockDataDir(dataDir)
  if (lock.tookOver) log(lock.tookOver)
  const pool = createConnectionPool({ timeoutMs: Math.max(...site.devices.map((d) => d.timeoutMs)) })
  const drivers: DeviceDriver[] = []
  const started: StartedDevice<DeviceDriver>[] = []
  const stopRetries = () => started.forEach((s) => s.stop())
  let store: Store | null = null
  let operator: { view: LiveMarketView; stop(): Promise<void>; market: `0x${string}` } | null = null
  let liveSite: LiveSite | null = null
  const stopMarket = async () => {
    await liveSite?.stop()
    await operator?.stop()
  }
  try {
    for (const [i, device] of site.devices.entries()) {
      try {
        // A device that does not answer does not keep the site down: it runs stale and alarmed
        // (stale:<name>, with the reason), discovery is retried, and it joins once it answers.
        const one = await startDeviceDriver(device, pool, { log: (m) => (m.endsWith(' ok') && !m.includes('clamped') ? undefined : log(m)), wrap: instrumentDriver })
        started.push(one)
        drivers.push(one.driver)
      } catch (cause) {
        throw new StartSiteError(`devices[${i}] '${device.name}': cannot start: ${(cause as BaseError).shortMessage ?? (cause as Error).message}; check it with 'gridmesh commission --site FILE'`, { cause })
      }
    }
    protectStoreFiles(join(dataDir, 'gridmesh.db'))
    store = createStore({ path: join(dataDir, 'gridmesh.db') })
    await selectBackend('auto', log)
    const siteModel = join(dataDir, 'models', 'site-model')
    const modelPath = options.loadModelDir ?? (existsSync(join(siteModel, 'model.json')) ? siteModel : (site.control?.loadModel ?? shippedModel))
    let model: LoadedLoadModel | null = null
    try {
      model = await readLoadModel(modelPath)
      log(`forecast: load model ${modelPath} (trained ${model.metadata.trainedAt} on ${model.metadata.training.source})`)
    } catch (error) {
      log(`forecast: cannot load the model in ${modelPath} (${(error as BaseError).shortMessage ?? (error as Error).message}); seasonal naive until a model is trained`)
    }
    const now = options.now ?? Date.now
    const opened = store
    let controller: SiteController | null = null
    // The market never keeps the site from controlling its hardware: what fails is alarmed and retried, and the site runs its local plan.
    const alarm = (key: string, message: string | null) => {
      const raised = message === null ? opened.clearAlarm(key, now()) : opened.raiseAlarm({ key, device: null, severity: 'warning', message, timeMs: now() })
      if (raised) controller?.runtime.emit({ type: 'alarm', alarm: raised })
    }
    if (options.operator) {
      try {
        const { startLiveOperator } = await import('../trading/startLiveOperator.ts')
        operator = await startLiveOperator({ site, dataDir, siteFileDir: options.siteFileDir, now: options.now, log })
        alarm('market:operator', null)
      } catch (error) {
        const why = (error as BaseError).shortMessage ?? (error as Error).message
        log(`market: the operator cannot start: ${why}`)
        alarm('market:operator', `the clearing operator cannot start: ${why}`)
      }
    }
    if (site.market?.site) {
      // beside the operator, the site uses its market, and its embedded chain (one owner per data folder)
      const market = operator ? { ...site.market, address: site.market.address ?? operator.market, ...(site.market.chain === 'embedded' ? { chain: { rpcUrl: operator.view.status().chain.rpcUrl } } : {}) } : site.market
      const control = site.control ?? siteControlSchema.parse({})
      liveSite = await startLiveSite({
        site: { ...site, market },
        dataDir,
        siteFileDir: options.siteFileDir,
        drivers,
        plan: () => controller?.plan() ?? null,
        tariff: () => controller?.settings.tariff() ?? siteTariff(control, site.timezone ?? 'UTC'),
        now: options.now,
        log,
        alarm,
      })
    }
    controller = createSiteController({ site, drivers, store, now, loadModel: model, modelDir: join(dataDir, 'models'), staleAfterMs: options.staleAfterMs, refreshMs: options.refreshMs, log, faultSeam: options.faultSeam, clock: options.clock, market: liveSite?.market })
    const liveMarket = liveSite && operator ? mergeLiveViews(liveSite.view, operator.view) : (liveSite?.view ?? operator?.view)
    const siteData = createSiteDataServices({ site, drivers, store, controller, now, simApiUrl: options.simApiUrl, marketLedgerFile: options.marketLedgerFile, liveMarket })
    const api = await createApiServer({ backend: controller, site: { name: site.name, timeZone: controller.timeZone, devices: drivers.map((d) => d.name) }, host: options.host, port: options.port, now: options.now, people: store, allowRemote: options.allowRemote, hostNames: options.hostNames, tls: options.tls, siteData, log })
    const tokenFile = join(dataDir, 'api-token')
    writeSecretFile(tokenFile, `${api.token}\n`)
    const running = controller
    let stopped: Promise<void> | null = null
    return {
      controller: running,
      api,
      store: opened,
      drivers,
      tokenFile,
      modelDir: model?.dir ?? null,
      stop() {
        stopped ??= (async () => {
          await running.stop()
          await stopMarket()
          await api.close()
          // a commissioning run started from the HMI finishes (and reverts its test writes) first
          await siteData.commissions.idle()
          stopRetries()
          await pool.close()
          opened.close()
          lock.release()
        })()
        return stopped
      },
    }
  } catch (error) {
    await stopMarket()
    stopRetries()
    await pool.close()
    store?.close()
    lock.release()
    throw error
  }
}
