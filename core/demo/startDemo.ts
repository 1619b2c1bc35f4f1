// `gridmesh demo` (and the desktop app's demo microgrid) as one function: the simulator, a
// week of the simulated site measured under time warp into the site's store, this site's
// service on it exactly as `gridmesh serve` runs one (forecast, plan, control, HMI API),
// trading live (issue 15) with peer sites, each a `gridmesh serve` on its own simulator,
// on a fresh anvil and the embedded broker, all on the one simulated clock.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { ensureHmiBuilt } from '../api/ensureHmiBuilt.ts'
import { lockDataDir } from '../api/lockDataDir.ts'
import { startSite, type RunningSite } from '../api/startSite.ts'
import { parseYamlText } from '../devices/site/parseYamlText.ts'
import { siteRuntimeDefaults } from '../control/createSiteRuntime.ts'
import { BaseError } from '../errors/BaseError.ts'
import { defaultSeed } from '../forecast/trainLoadModel.ts'
import { measureHistoryOnDevices } from '../simulator/measureHistoryOnDevices.ts'
import { openSiteDevices } from '../simulator/openSiteDevices.ts'
import { simulatorSiteFile, type SimulatorSite } from '../simulator/simulatorSiteFile.ts'
import { spawnSimulator } from '../simulator/spawnSimulator.ts'
import { writeSteppedSiteFile } from '../simulator/writeSteppedSiteFile.ts'
import { createStore } from '../store/createStore.ts'
import { demoSimSite, demoSiteFile, demoSocMinPct } from './demoSiteFile.ts'
import { planDemoHistory } from './planDemoHistory.ts'
import { liveDemoCommunity } from './liveDemoCommunity.ts'
import { liveSimulatorClock } from './liveSimulatorClock.ts'
import { runSimulators } from './runSimulators.ts'
import { DemoError } from './DemoError.ts'
import { storeMeasuredHistory } from './storeMeasuredHistory.ts'

/** The demo was stopped (its signal aborted) while it was starting; everything it had started is stopped. */
export class DemoStoppedError extends BaseError {
  override name = 'DemoStoppedError' as const
}

type LiveDemoCommunity = Awaited<ReturnType<typeof liveDemoCommunity>>

export type StartDemoOptions = {
  /** the site's data folder: store, token, model; the demo's market community in demo-market/ and this site's market node in market/, both new each run (created 0700) */
  dataDir: string
  /** time warp of the simulated site (default 60: an hour a minute) */
  speed?: number
  /** weather (cloud) seed of every simulator, this site's and the peers' (default 1) */
  seed?: number
  /** the HMI API's port (default 8700; 0 picks a free one) */
  port?: number
  /** the simulator's devices and control API on free ports instead of demo.yaml's 5020-5022 and 8600 (tests, a second demo) */
  freePorts?: boolean
  /** days of history measured before the site opens (default 7; and an hour for the load model's lags); 28 or more lets the service retrain the model on them at once */
  historyDays?: number
  /** peer sites trading live with this one (each a serve on its own simulator; default 2; 0: no market) */
  peers?: number
  /** where a fresh folder's simulated clock starts, ms (default demoStartMs); a folder with history goes on where it ended */
  startMs?: number
  log?: (line: string) => void
  /** aborts a start in progress (its children are stopped and startDemo rejects with DemoStoppedError) */
  signal?: AbortSignal
}

export type RunningDemo = {
  /** the HMI and its API, e.g. http://127.0.0.1:8700 */
  hmiUrl: string
  /** a one-time link that signs the local owner in (10 minutes) and opens the HMI */
  signInUrl(): string
  tokenFile: string
  simApiUrl: string
  site: RunningSite
  /** stops the site service, the peers, the operator, the broker, anvil and every simulator; nothing it started keeps running */
  stop(): Promise<void>
}

/** The market's interval and the site's history slot: the site runtime's slot. */
const { slotMs } = siteRuntimeDefaults

/**
 * Where a fresh demo folder's simulated clock starts: 11:00 on 2 December 2026 in the demo
 * site's town (Melbourne), the same moment every run. The weather is a pure function of the
 * seed and the time, so a start that followed the calendar (it was the last 11:00 before now)
 * gave a different day each day: on a clear one this site stores its midday surplus and
 * trades nothing for hours, and the README's settled trade came at 60 s one day and after
 * 270 s the next. Under seed 1 this late morning is overcast: this site imports, and buys
 * from its neighbours from the first interval. `--start` picks another moment.
 */
export const demoStartMs = Date.parse('2026-12-02T11:00:00+11:00')

/** Starts the demo microgrid; resolves once the HMI answers, with the week of history stored and the load model in use. */
export async function startDemo(options: StartDemoOptions): Promise<RunningDemo> {
  const speed = options.speed ?? 60
  const seed = options.seed ?? 1
  const historyDays = options.historyDays ?? 7
  const peers = options.peers ?? 2
  const log = options.log ?? (() => {})
  const { dataDir } = options
  const started = performance.now()
  const took = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
  const stopped = () => new DemoStoppedError('the demo was stopped while it was starting')
  if (options.signal?.aborted) throw stopped()
  mkdirSync(dataDir, { recursive: true, mode: 0o700 })
  // A folder another service owns is refused before anything starts (startSite takes the lock for good).
  const probe = lockDataDir(dataDir)
  let probeHeld = true
  let community: LiveDemoCommunity | null = null
  let communityStarting: Promise<LiveDemoCommunity | null> | null = null
  let sim: Awaited<ReturnType<typeof spawnSimulator>> | null = null
  let site: RunningSite | null = null
  let stopping: Promise<void> | null = null
  const stop = () =>
    (stopping ??= (async () => {
      // a community still starting is waited for: it stops what it started when its start fails
      community = (await communityStarting) ?? community
      // The controller stops before the simulator does: its last cycle must not see the devices vanish.
      await site?.stop()
      await Promise.all([community?.stop(), sim?.stop()])
      if (probeHeld) probe.release()
    })())
  try {
    log(`seed ${seed} (weather of every simulator; --seed N)`)
    // A first build of the HMI (a clean clone has none).
    ensureHmiBuilt(log)
    if (options.signal?.aborted) throw stopped()

    // One simulator: paused at the start of the history, stepped through it, then let run time-warped.
    const store = createStore({ path: join(dataDir, 'gridmesh.db') })
    const shipped = parseYamlText(readFileSync(demoSimSite, 'utf8')) as SimulatorSite & Record<string, unknown>
    // The battery's own fallback (self-consumption through the history week) stops at the
    // controller's floor: below it, every plan would start from an SoC it may not reach and
    // the service would re-plan every minute.
    const simSite = { ...shipped, devices: shipped.devices.map((d) => (d.kind === 'battery' ? { ...d, socMinPct: Math.max(Number(d.socMinPct ?? 0), demoSocMinPct) } : d)) }
    let liveFromMs: number
    try {
      // a fresh folder's simulated now is the demo's start (the same day every run), or --start
      const plan = planDemoHistory({ store, nowMs: options.startMs ?? demoStartMs, historyDays })
      liveFromMs = plan.liveFromMs
      if (peers > 0) {
        log(`market: this site and ${peers} peer sites (each a 'gridmesh serve' on its own simulator) trade live from ${new Date(liveFromMs).toISOString()} on the simulated clock: one 15-minute interval every ${(900 / speed).toFixed(0)} s`)
        // set up beside the history pass; a market that cannot start leaves the site running without it
        communityStarting = liveDemoCommunity({ dataDir, startMs: liveFromMs, peers, seed, log }).then(
          (started) => (community = started),
          (error: unknown) => {
            log(`market: cannot start: ${(error as BaseError).shortMessage ?? (error as Error).message}; the site runs without it`)
            return null
          },
        )
      }
      const simFile = join(dataDir, 'demo-sim-site.yaml')
      const simStartMs = plan.measure?.fromMs ?? plan.liveFromMs
      if (options.freePorts) writeSteppedSiteFile(simFile, simSite, simStartMs)
      else writeFileSync(simFile, stringify({ ...simSite, clock: { start: new Date(simStartMs).toISOString(), speed: 0 } }))
      sim = await spawnSimulator(simFile, seed, 60_000)
      if (options.signal?.aborted) throw stopped()
      const { measure } = plan
      if (measure) {
        const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16)
        log(`history: measuring ${((measure.toMs - measure.fromMs) / 86_400_000).toFixed(2)} days of the simulated site (${iso(measure.fromMs)} to ${iso(measure.toMs)} UTC) under time warp, the stepped simulator read over Modbus${plan.storedDays ? `, after the ${plan.storedDays.toFixed(1)} days the data folder holds` : ''}`)
        const passStarted = performance.now()
        const devices = await openSiteDevices(simulatorSiteFile({ sim: simSite, ready: sim.ready }))
        let slots
        try {
          const drivers = devices.drivers
          const meter = drivers.find((d) => d.meter)?.meter
          if (!meter) throw new DemoError(`${simFile}: the demo site has no grid meter to measure its history with`)
          const running = sim
          slots = await measureHistoryOnDevices({
            advance: (seconds) => {
              if (options.signal?.aborted) throw stopped()
              return running.advance(seconds)
            },
            meter,
            pvs: drivers.flatMap((d) => (d.pv && !d.battery ? [d.pv] : [])),
            batteries: drivers.flatMap((d) => (d.battery ? [d.battery] : [])),
            fromMs: measure.fromMs,
            toMs: measure.toMs,
            slotMs,
            sampleS: 300,
          })
        } finally {
          await devices.close()
        }
        storeMeasuredHistory(store, slots, measure.toMs)
        log(`history: ${slots.length} slots measured and stored in ${dataDir}/gridmesh.db in ${((performance.now() - passStarted) / 1000).toFixed(1)} s (a second start on this folder goes on from them)`)
      } else log(`history: ${dataDir} holds ${plan.storedDays.toFixed(1)} days of this site's history; the simulated site goes on where it ended (${new Date(liveFromMs).toISOString()})`)
    } finally {
      store.close()
    }

    const running = sim
    const market = await communityStarting
    if (options.signal?.aborted) throw stopped()
    // every simulator runs from the same moment: the market's sites share one simulated now
    await runSimulators([running.apiUrl, ...(market?.peerSimApiUrls ?? [])], speed)
    const clock = await liveSimulatorClock({ apiUrl: running.apiUrl })
    await market?.run(clock.now)
    probe.release()
    probeHeld = false
    if (options.signal?.aborted) throw stopped()
    const siteFile = demoSiteFile(running.ready, running.apiUrl)
    site = await startSite({ site: market ? { ...siteFile, market: market.market } : siteFile, dataDir, now: clock.now, port: options.port ?? 8700, staleAfterMs: clock.staleAfterMs, refreshMs: clock.refreshMs, simApiUrl: running.apiUrl, log })
    site.controller.start(clock.periodMs)
    const model = site.controller.forecast().model
    log(
      model
        ? `forecast: the TF.js load model ${model.dir} (trained on ${model.source}, ${model.trainedAt}) forecasts from the first plan on the measured history; ` +
            `the service retrains it on this site's own history (worker thread, seed ${defaultSeed}) once 28 days exist and keeps it when it beats seasonal naive (--history-days 28 measures them now)`
        : 'forecast: no load model could be loaded; seasonal naive forecasts (see the line above)',
    )
    log(`ready in ${took()}: simulator API ${running.apiUrl}, speed ${speed}x, HMI ${site.api.url}`)
    const opened = site
    return { hmiUrl: opened.api.url, signInUrl: () => opened.api.signInUrl(), tokenFile: opened.tokenFile, simApiUrl: running.apiUrl, site: opened, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
