// The entry of the core process: an Electron utility process (process.parentPort) in the
// app, or a plain forked Node child (process.send) in the tests. It starts the site service
// (startSite: devices, store, forecast, plan, control loop and the API on 127.0.0.1), or the
// demo exactly as `gridmesh demo` composes it (core/demo/startDemo.ts: the simulator, a week
// of measured history, the site service, the market's peer sites on the embedded anvil), and
// answers the window's API calls, which main has already checked, in process through the
// API's dispatch (core/api/createApiDispatch.ts) as principal via 'ipc': the same routes,
// validation, roles and audit as a browser gets, without the loopback HTTP hop.
// Training and solving run here (and in this process's workers), so a window never waits.
// It never imports electron.
import { privateKeyToAccount } from 'viem/accounts'
import type { Principal, StateResult } from '../core/api/contract.ts'
import { startSite, type RunningSite } from '../core/api/startSite.ts'
import { startDemo, type RunningDemo } from '../core/demo/startDemo.ts'
import { loadSiteFile } from '../core/devices/site/loadSiteFile.ts'
import type { BaseError } from '../core/errors/BaseError.ts'
import type { CoreMessage, CoreRequestMessage, CoreStartMessage } from './coreMessages.ts'

type ParentPort = { postMessage(message: unknown): void; on(event: 'message', listener: (e: { data: unknown }) => void): void }

// Children spawned with this process's executable (simulators, the market's sites) are Node, not another Electron.
process.env.ELECTRON_RUN_AS_NODE = '1'

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
const post = (message: CoreMessage): void => {
  if (parentPort) parentPort.postMessage(message)
  else process.send?.(message)
}
const log = (line: string) => post({ type: 'log', line })

let site: RunningSite | null = null
let demo: RunningDemo | null = null
// A stop while the demo is still starting aborts it (startDemo stops what it had started).
const starting = new AbortController()
let unsubscribeEvents: (() => void) | null = null
let stopping: Promise<never> | null = null

/** The desktop user: the site's local owner, as the api-token is on the command line (electron/registerIpcHandlers.ts's session answer says the same). */
const windowPrincipal: Principal = { name: 'local', role: 'installer', via: 'ipc' }

async function start(message: CoreStartMessage): Promise<void> {
  try {
    const choice = message.site
    if (choice.kind === 'demo') {
      const { kind: _kind, dataDir, ...options } = choice
      demo = await startDemo({ ...options, dataDir, port: 0, log, signal: starting.signal })
      site = demo.site
    } else {
      const siteFile = loadSiteFile(choice.file)
      const keys = choice.marketKeys
      // The keys main unsealed stay in this process: the live market (a site file with market.site) signs with the
      // owner and meter keystore files the site file names, as serve does; the vault's keys are not handed to it yet.
      if (siteFile.market && keys) log(`core: market keys received (site ${privateKeyToAccount(keys.site).address}, operator ${privateKeyToAccount(keys.operator).address}); live trading signs with the site file's market.site keystore files, not these`)
      site = await startSite({ site: siteFile, dataDir: choice.dataDir, port: 0, log })
      site.controller.start(1000)
    }
    openEvents(site)
    const state = await site.api.call({ method: 'GET', path: '/api/state' }, windowPrincipal)
    const name = state.ok && 'value' in state ? (state.value as StateResult).site.name : 'site'
    post({ type: 'started', apiUrl: site.api.url, signInUrl: site.api.signInUrl(), site: { name, dataDir: choice.dataDir } })
  } catch (error) {
    post({ type: 'failed', error: { name: (error as Error).name, message: (error as BaseError).shortMessage ?? (error as Error).message, details: (error as BaseError).details ?? null } })
    await stop(1)
  }
}

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

/** Stops the site (controller first, while the devices are still there), or the whole demo (market, site, simulator), then exits. */
function stop(code = 0): Promise<never> {
  stopping ??= stopOnce(code)
  return stopping
}
async function stopOnce(code: number): Promise<never> {
  starting.abort()
  unsubscribeEvents?.()
  try {
    await (demo ? demo.stop() : site?.stop())
  } catch (error) {
    log(`core: stopping the site: ${(error as Error).message}`)
  }
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
