import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import type { ServiceRequest } from './parseServiceRequest.ts'
import { parseServiceReply, type ServiceReply } from './parseServiceReply.ts'
import { SoakError } from './SoakError.ts'

const runTs = fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url))
const main = fileURLToPath(new URL('./soakServiceMain.ts', import.meta.url))

export type ServiceExit = { code: number | null; signal: NodeJS.Signals | null; killedBySoak: boolean }

export type SoakService = {
  readonly pid: number
  /** Sends one request and resolves with its reply; rejects if the process dies first. */
  request(request: ServiceRequest): Promise<ServiceReply>
  /** kill -9, resolved once the process is gone. */
  kill(): Promise<ServiceExit>
  readonly exited: Promise<ServiceExit>
  hasExited(): boolean
  /** The end of what the service logged, for error messages. */
  stderrTail(): string
}

/** Starts the soak's site service process (soakServiceMain.ts); replies come back in request order. */
export function spawnSoakService(): SoakService {
  const child = spawn(process.execPath, [runTs, main], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)))
  const waiting: { resolve: (r: ServiceReply) => void; reject: (e: Error) => void }[] = []
  let killedBySoak = false
  let exit: ServiceExit | null = null
  const exited = new Promise<ServiceExit>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal, killedBySoak }
      for (const w of waiting.splice(0)) w.reject(new SoakError(`the service process exited (${signal ?? `code ${code}`}) before it answered`, { details: stderr.slice(-2000) }))
      resolve(exit)
    }),
  )
  createInterface({ input: child.stdout }).on('line', (line) => {
    const w = waiting.shift()
    if (!w) return
    try {
      w.resolve(parseServiceReply(line))
    } catch (error) {
      w.reject(error as Error)
    }
  })
  // A write to a process that just died fails with EPIPE; the exit handler reports it.
  child.stdin.on('error', () => undefined)
  return {
    pid: child.pid ?? -1,
    request(request) {
      if (exit) return Promise.reject(new SoakError(`the service process has exited (${exit.signal ?? `code ${exit.code}`})`, { details: stderr.slice(-2000) }))
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        child.stdin.write(`${JSON.stringify(request)}\n`)
      })
    },
    kill() {
      if (!exit) {
        killedBySoak = true
        child.kill('SIGKILL')
      }
      return exited
    },
    exited,
    hasExited: () => exit !== null,
    stderrTail: () => stderr.slice(-4000),
  }
}
