import { spawn, type ChildProcess } from 'node:child_process'

export type JsonLine = Record<string, unknown>

export type StartedPeer = {
  child: ChildProcess
  /** Every stdout line that parsed as a JSON object, in order. */
  lines: JsonLine[]
  stderr: () => string
  /** The first JSON line (past or future) that matches; rejects on timeout or exit. */
  waitForLine: (match: (line: JsonLine) => boolean, timeoutMs: number) => Promise<JsonLine>
  /** SIGTERM, then SIGKILL after killAfterMs; resolves when the process has exited. */
  stop: (killAfterMs?: number) => Promise<void>
}

const running = new Set<ChildProcess>()
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL')
}
// A test that throws before its cleanup, or a runner that is interrupted, must not leave
// servers behind. After killing them, the signal is raised again so it still ends the process.
process.once('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAll()
    process.kill(process.pid, signal)
  })
}

/** Starts a long-running peer (server, simulator, socat) and collects its JSON stdout lines. */
export function startPeer(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): StartedPeer {
  // stdin stays an open pipe: peers started with --watch-stdin exit when this process dies
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', 'pipe'] })
  running.add(child)
  const lines: JsonLine[] = []
  const waiters = new Set<() => void>()
  let stderr = ''
  let partial = ''
  let exited = false
  let spawnError: Error | undefined
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter()
  }
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    partial += chunk
    const parts = partial.split('\n')
    partial = parts.pop() ?? ''
    for (const part of parts) {
      try {
        const parsed: unknown = JSON.parse(part)
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) lines.push(parsed as JsonLine)
      } catch {
        continue // not JSON: a human-readable line on stdout, kept out of `lines` on purpose
      }
    }
    notify()
  })
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000)
  })
  const exitPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true
      running.delete(child)
      notify()
      resolve()
    })
    child.once('error', (error) => {
      spawnError = error
      exited = true
      running.delete(child)
      notify()
      resolve()
    })
  })
  const describe = (): string => `${command} ${args.join(' ')}`

  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine(match, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match)
          if (found) {
            finish()
            resolve(found)
          } else if (exited) {
            finish()
            const why = spawnError ? spawnError.message : `exit code ${child.exitCode}, signal ${child.signalCode}`
            reject(new Error(`${describe()} exited (${why}) before the expected line; stderr: ${stderr.slice(-2000)}`))
          }
        }
        const timer = setTimeout(() => {
          finish()
          reject(new Error(`${describe()}: no matching line within ${timeoutMs} ms; stdout lines: ${JSON.stringify(lines)}; stderr: ${stderr.slice(-2000)}`))
        }, timeoutMs)
        const finish = (): void => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async stop(killAfterMs = 3000) {
      if (exited) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
      await exitPromise
      clearTimeout(timer)
    },
  }
}
