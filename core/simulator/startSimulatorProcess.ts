import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SimulatorProcessError } from './SimulatorProcessError.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))

/** A device the simulator serves, from its `ready` line on stdout. */
export type SimReady = { device: string; kind: string; transport: string; host: string | null; port: number | null; path?: string | null; unitId: number; sunspecBase: number }

export type SimulatorProcess = {
  child: ChildProcess
  ready: SimReady[]
  /** The simulator's control API (clock, state, faults). */
  apiUrl: string
  /** The last 10 kB it wrote to stderr. */
  stderr: () => string
  /** Resolves with its exit code once it exited. */
  exited: Promise<number | null>
  /** SIGTERM, and its exit code. */
  stop(): Promise<number | null>
}

/**
 * Runs `gridmesh sim ARGS` as a separate program (core never imports the simulator) and
 * resolves once it printed its `api` line, with the devices its `ready` lines named.
 * Rejects, with its stderr, when it exits first or is not ready within `timeoutMs`.
 */
export function startSimulatorProcess(args: readonly string[], timeoutMs = 30_000): Promise<SimulatorProcess> {
  const child = spawn(process.execPath, [cli, 'sim', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const ready: SimReady[] = []
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new SimulatorProcessError(`the simulator did not start within ${timeoutMs} ms: ${stderr.trim()}`))
    }, timeoutMs)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new SimulatorProcessError(`the simulator exited with ${code} before it was ready: ${stderr.trim()}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as SimReady & { event: string; url?: string }
      if (event.event === 'ready') ready.push(event)
      if (event.event === 'api') {
        clearTimeout(timer)
        resolve({
          child,
          ready,
          apiUrl: event.url!,
          stderr: () => stderr,
          exited,
          stop: () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
            return exited
          },
        })
      }
    })
  })
}
