// The entry of the core process: an Electron utility process (process.parentPort) in the
// app, or a plain forked Node child (process.send) in the tests. It starts the site service
// (startSite: devices, store, forecast, plan, control loop and the API on 127.0.0.1), and
// answers the window's API calls, which main has already checked, in process through the
// API's dispatch (core/api/createApiDispatch.ts) as principal via 'ipc': the same routes,
// validation, roles and audit as a browser gets, without the loopback HTTP hop.
// Training and solving run here (and in this process's workers), so a window never waits.
// It never imports electron.
import { fileURLToPath } from 'node:url'
import { privateKeyToAccount } from 'viem/accounts'
import { join } from 'node:path'
import type { Principal } from '../core/api/contract.ts'
import { startSite, type RunningSite } from '../core/api/startSite.ts'
import { demoSiteFile } from '../core/demo/siteDemoCli.ts'
import { loadSiteFile } from '../core/devices/site/loadSiteFile.ts'
import type { SiteFile } from '../core/devices/site/siteFileSchema.ts'
import type { BaseError } from '../core/errors/BaseError.ts'
import { startSimulatorProcess, type SimulatorProcess } from '../core/simulator/startSimulatorProcess.ts'
import type { CoreMessage, CoreRequestMessage, CoreStartMessage } from './coreMessages.ts'

type ParentPort = { postMessage(message: unknown): void; on(event: 'message', listener: (e: { data: unknown }) => void): void }

// Children spawned with this process's executable (the simulator) are Node, not another Electron.
process.env.ELECTRON_RUN_AS_NODE = '1'

const demoSimSite = fileURLToPath(new URL('../hardware-sims/sites/demo.yaml', import.meta.url))
const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
const post = (message: CoreMessage): void => {
  if (parentPort) parentPort.postMessage(message)
  else process.send?.(message)
}
const log = (line: string) => post({ type: 'log', line })

let site: RunningSite | null = null
let sim: SimulatorProcess | null = null
let unsubscribeEvents: (() => void) | null = null
let stopping = false

async function start(message: CoreStartMessage): Promise<void> {
  let siteFile: SiteFile | null = null
  try {
    if (message.site.kind === 'demo') {
      const speed = message.site.speed ?? 60
      sim = await startSimulatorProcess(['--site', message.site.simSiteFile ?? demoSimSite, '--seed', String(message.site.seed ?? 1), '--speed', String(speed)], 60_000)
      post({ type: 'child', pid: sim.child.pid!, what: 'simulator' })
      const state0 = (await (await fetch(`${sim.apiUrl}/api/state`)).json()) as { timeMs: number }
      const realStart = performance.now()
      const simNow = () => Math.round(state0.timeMs + (performance.now() - realStart) * speed)
      const periodMs = Math.min(1000, 15_000 / speed)
      const simPeriodMs = periodMs * speed
      siteFile = demoSiteFile(sim.ready)
      site = await startSite({ site: siteFile, dataDir: message.site.dataDir, now: simNow, port: 0, staleAfterMs: Math.max(10_000, 3 * simPeriodMs), refreshMs: Math.max(20_000, 2 * simPeriodMs), simApiUrl: sim.apiUrl, marketLedgerFile: join(message.site.dataDir, 'market-ledger.json'), log })
      site.controller.start(periodMs)
    } else {
      siteFile = loadSiteFile(message.site.file)
      const keys = message.site.marketKeys
      // The keys main unsealed stay in this process; the site service has no market runtime to hand them to yet (issue 15).
      if (siteFile.market && keys) log(`core: market keys received (site ${privateKeyToAccount(keys.site).address}, operator ${privateKeyToAccount(keys.operator).address}); this site service does not trade yet`)
      site = await startSite({ site: siteFile, dataDir: message.site.dataDir, port: 0, log })
      site.controller.start(1000)
    }
    openEvents(site)
    post({ type: 'started', apiUrl: site.api.url, signInUrl: site.api.signInUrl(), site: { name: siteFile.name, dataDir: message.site.dataDir } })
  } catch (error) {
    post({ type: 'failed', error: { name: (error as Error).name, message: (error as BaseError).shortMessage ?? (error as Error).message, details: (error as BaseError).details ?? null } })
    await stop(1)
  }
}

/** The desktop user: the site's local owner, as the api-token is on the command line (electron/registerIpcHandlers.ts's session answer says the same). */
const windowPrincipal: Principal = { name: 'local', role: 'installer', via: 'ipc' }

function openEvents(running: RunningSite): void {
  if (stopping) return
  unsubscribeEvents = running.api.subscribe((event) => post({ type: 'event', event }))
  post({ type: 'status', status: { state: 'online', reason: null } })
}

async function answer(message: CoreRequestMessage): Promise<void> {
  const reply = (body: { ok: true; value: unknown } | { ok: false; error: { status: number; name: string; message: string; field?: string } }) => post({ type: 'response', id: message.id, ...body })
  if (!site) return reply({ ok: false, error: { status: 503, name: 'CoreNotReady', message: 'the site is still starting' } })
  const request = message.request
  try {
    const answered = await site.api.call(request.kind === 'command' ? { method: 'POST', path: '/api/commands', body: request.body } : { method: 'GET', path: `/api/${request.path}`, query: request.params }, windowPrincipal)
    if (!answered.ok) return reply({ ok: false, error: { status: answered.status, ...answered.error } })
    if ('file' in answered) return reply({ ok: true, value: answered.file })
    if (request.kind === 'download') return reply({ ok: true, value: { contentType: 'application/json', filename: null, text: JSON.stringify(answered.value) } })
    reply({ ok: true, value: answered.value })
  } catch (error) {
    reply({ ok: false, error: { status: 500, name: 'CoreRequestError', message: `the site service failed: ${(error as Error).message}` } })
  }
}

/** Stops the site (controller first, while the devices are still there), then the simulator, then exits. */
async function stop(code = 0): Promise<never> {
  stopping = true
  unsubscribeEvents?.()
  try {
    await site?.stop()
  } catch (error) {
    log(`core: stopping the site: ${(error as Error).message}`)
  }
  await sim?.stop()
  post({ type: 'stopped' })
  // Let the last message leave before the process ends.
  setTimeout(() => process.exit(code), 50)
  return new Promise<never>(() => {})
}

function onMessage(data: unknown): void {
  const message = data as { type?: unknown }
  if (message?.type === 'start') void start(message as CoreStartMessage)
  else if (message?.type === 'request') void answer(message as CoreRequestMessage)
  else if (message?.type === 'stop') void stop(0)
  else log(`core: unknown message ${JSON.stringify(data).slice(0, 100)}`)
}

if (parentPort) parentPort.on('message', (e) => onMessage(e.data))
else process.on('message', onMessage)
// The parent went away without a stop (main crashed): do not leave the simulator and the devices' writer behind.
process.on('disconnect', () => void stop(0))
process.once('SIGTERM', () => void stop(0))
post({ type: 'ready', pid: process.pid })
