import { execFile } from 'node:child_process'
import type { ApiEvent } from '../core/api/contract.ts'
import type { CoreMessage, CoreSiteChoice } from './coreMessages.ts'
import { DesktopError } from './DesktopError.ts'
import { listDescendants } from './listDescendants.ts'
import type { CoreClient, CoreRequest, CoreStatus } from './registerIpcHandlers.ts'

/** What main needs of Electron's UtilityProcess (and what the tests' fake gives). */
export type UtilityProcessLike = {
  readonly pid: number | undefined
  postMessage(message: unknown): void
  on(event: 'message', listener: (message: unknown) => void): void
  on(event: 'exit', listener: (code: number) => void): void
  kill(): boolean
}

export type StartCoreProcessParameters = {
  /** utilityProcess.fork(entry) in the app. */
  fork: (entry: string) => UtilityProcessLike
  /** electron/coreProcess.js (built) */
  entry: string
  site: CoreSiteChoice
  /** How long the site may take to start (devices, store, the model); default 120 s. */
  startTimeoutMs?: number
  /** How long a stop may take before the process and its children are killed; default 20 s. */
  stopTimeoutMs?: number
  log?: (line: string) => void
}

export type CoreProcess = CoreClient & {
  apiUrl: string
  signInUrl: string
  site: { name: string; dataDir: string }
  /** The utility process and every process seen below it (simulators, anvil, the market's sites). */
  pids(): number[]
  /** Stops the site and every child; resolves once they are gone. */
  stop(): Promise<void>
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, but is not ours to signal.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The command line of a running process, or null when it is gone (or there is no ps). */
const commandLineOf = (pid: number) =>
  new Promise<string | null>((resolve) => (process.platform === 'win32' ? resolve(null) : execFile('ps', ['-o', 'args=', '-p', String(pid)], (error, stdout) => resolve(error ? null : stdout.trim() || null))))

/** How often the processes below the core process are looked up, so a crash of it leaves none running. */
const trackEveryMs = 5000

/**
 * Starts core in its own process (an Electron utility process): the site service with its
 * control loop, forecast training and MILP solves, so none of them can freeze a window.
 * Resolves once the site answers, or rejects with why it could not start (the message the
 * site manager shows). Calls go out as numbered requests and come back as responses.
 */
export function startCoreProcess({ fork, entry, site, startTimeoutMs = 120_000, stopTimeoutMs = 20_000, log = () => {} }: StartCoreProcessParameters): Promise<CoreProcess> {
  const child = fork(entry)
  // Every process below the core process, with its command line when main saw it in the process table
  // (null: the core process reported it); a crashed core's orphans are stopped from this list.
  const children = new Map<number, string | null>()
  const track = async () => {
    if (!child.pid || exitCode !== undefined) return
    for (const d of await listDescendants(child.pid)) if (!children.has(d.pid)) children.set(d.pid, d.args)
  }
  let tracker: ReturnType<typeof setInterval> | null = null
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  const eventListeners = new Set<(event: ApiEvent) => void>()
  const statusListeners = new Set<(status: CoreStatus) => void>()
  let nextId = 1
  let exitCode: number | null | undefined
  let onExit: (code: number | null) => void = () => {}
  const exited = new Promise<number | null>((resolve) => (onExit = resolve))
  let lastStatus: CoreStatus = { state: 'connecting', reason: null }
  let stopping: Promise<void> | null = null

  return new Promise<CoreProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new DesktopError(`the site did not start within ${Math.round(startTimeoutMs / 1000)} s`))
      void stop()
    }, startTimeoutMs)
    child.on('exit', (code) => {
      exitCode = code
      if (tracker) clearInterval(tracker)
      clearTimeout(timer)
      for (const p of pending.values()) p.reject(new DesktopError(`the core process exited (code ${code})`))
      pending.clear()
      statusListeners.forEach((l) => l({ state: 'offline', reason: `the core process exited (code ${code})` }))
      reject(new DesktopError(`the core process exited (code ${code}) before the site started`))
      onExit(code)
    })
    child.on('message', (raw) => {
      const message = raw as CoreMessage
      switch (message.type) {
        case 'ready':
          child.postMessage({ type: 'start', site })
          break
        case 'child':
          children.set(message.pid, null)
          break
        case 'log':
          log(message.line)
          break
        case 'failed':
          clearTimeout(timer)
          reject(new DesktopError(message.error.message, { details: message.error.details ?? undefined }))
          break
        case 'started':
          clearTimeout(timer)
          void track()
          tracker = setInterval(() => void track(), trackEveryMs)
          tracker.unref()
          resolve({ apiUrl: message.apiUrl, signInUrl: message.signInUrl, site: message.site, request, subscribe, pids, stop })
          break
        case 'response': {
          const p = pending.get(message.id)
          pending.delete(message.id)
          if (!p) break
          if (message.ok) p.resolve(message.value)
          else p.reject(Object.assign(new DesktopError(message.error.message), { status: message.error.status, field: message.error.field, name: message.error.name }))
          break
        }
        case 'event':
          eventListeners.forEach((l) => l(message.event))
          break
        case 'status':
          lastStatus = message.status
          statusListeners.forEach((l) => l(message.status))
          break
        case 'stopped':
          break
      }
    })
  })

  function request(req: CoreRequest): Promise<unknown> {
    if (exitCode !== undefined) return Promise.reject(new DesktopError('the core process is not running'))
    const id = nextId++
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject })
      child.postMessage({ type: 'request', id, request: req })
    })
  }
  function subscribe(onEvent: (event: ApiEvent) => void, onStatus: (status: CoreStatus) => void): () => void {
    eventListeners.add(onEvent)
    statusListeners.add(onStatus)
    onStatus(lastStatus)
    return () => {
      eventListeners.delete(onEvent)
      statusListeners.delete(onStatus)
    }
  }
  function pids(): number[] {
    return [...(child.pid ? [child.pid] : []), ...children.keys()]
  }
  function stop(): Promise<void> {
    stopping ??= (async () => {
      if (exitCode === undefined) {
        // The last look at what runs below it, before it stops them.
        await track()
        child.postMessage({ type: 'stop' })
        const late = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), stopTimeoutMs).unref())])
        if (late) {
          log(`core: did not stop within ${stopTimeoutMs / 1000} s; killing it`)
          child.kill()
          await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())])
        }
      }
      // Whatever it started and did not stop (it was killed, or crashed) is stopped here.
      for (const [pid, args] of children) {
        if (!alive(pid)) continue
        // A pid seen in the table is stopped only while it is still that process (pids are reused).
        if (args !== null && (await commandLineOf(pid)) !== args) continue
        log(`core: child ${pid} outlived the core process; stopping it`)
        process.kill(pid, 'SIGTERM')
        for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100))
        if (alive(pid)) process.kill(pid, 'SIGKILL')
      }
    })()
    return stopping
  }
}
