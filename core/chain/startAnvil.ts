import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'
import { BaseError } from '../errors/BaseError.ts'

const wrapperBin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'anvil')
const platformPackages: Record<string, Record<string, string>> = {
  darwin: { x64: 'anvil-darwin-amd64', arm64: 'anvil-darwin-arm64' },
  linux: { x64: 'anvil-linux-amd64', arm64: 'anvil-linux-arm64' },
  win32: { x64: 'anvil-win32-amd64' },
}

export type AnvilLookup = {
  /** Electron's process.resourcesPath: set in a packaged app (electron-builder's extraResources put anvil in `<resources>/anvil/`). */
  resourcesPath?: string | undefined
  platform?: NodeJS.Platform
  arch?: string
  /** Where node_modules' platform package is resolved from (this module). */
  resolveFrom?: string
}

/**
 * The anvil to run. In a packaged app, the binary electron-builder put beside the asar
 * (`<resourcesPath>/anvil/anvil[.exe]`): an executable cannot run from inside the asar, and
 * node_modules' @foundry-rs packages are left out of it. In development, the platform
 * binary from node_modules itself: the npm wrapper (`.bin/anvil`) forwards SIGTERM and
 * exits at once, before anvil has dumped its state, and a SIGKILL to it leaves anvil
 * running; the wrapper is the last resort.
 */
export function findAnvilBinary({ resourcesPath = (process as { resourcesPath?: string }).resourcesPath, platform = process.platform, arch = process.arch, resolveFrom = import.meta.url }: AnvilLookup = {}): string {
  const exe = platform === 'win32' ? '.exe' : ''
  if (resourcesPath) {
    const packaged = join(resourcesPath, 'anvil', `anvil${exe}`)
    if (existsSync(packaged)) return packaged
  }
  const pkg = platformPackages[platform]?.[arch]
  if (pkg) {
    try {
      const path = createRequire(resolveFrom).resolve(`@foundry-rs/${pkg}/bin/anvil${exe}`)
      if (existsSync(path)) return path
    } catch {
      // not installed for this platform: the wrapper finds its own fallback binary
    }
  }
  return wrapperBin
}

/** anvil did not come up on 127.0.0.1; carries its last output lines. */
export class AnvilStartError extends BaseError {
  override name = 'AnvilStartError' as const
  constructor(port: number, reason: string, output: string) {
    super(`anvil on 127.0.0.1:${port}: ${reason}; expected 'Listening on 127.0.0.1:${port}'`, {
      details: output.split('\n').slice(-5).join('\n') || undefined,
    })
  }
}

export type Anvil = { rpcUrl: string; port: number; chainId: number; process: ChildProcess; stop(): Promise<void> }
export type StartAnvilParameters = {
  chainId?: number
  timeoutMs?: number
  args?: string[]
  /** anvil's `--state`: loaded at start when the file exists, written on SIGTERM/SIGINT (not on SIGKILL) */
  statePath?: string
  /** with statePath: also written every this many seconds, so a SIGKILL loses at most that much */
  stateIntervalSec?: number
  /** how long stop() waits after SIGTERM (anvil writes its state then) before SIGKILL */
  stopTimeoutMs?: number
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new AnvilStartError(0, 'no free port on 127.0.0.1', ''))))
    })
  })
}

/**
 * Waits until `pid` catches SIGTERM. anvil prints 'Listening' before it installs its
 * handler, and a SIGTERM in those few milliseconds kills it without writing its state.
 * Linux shows the handlers in /proc; elsewhere a short pause has to do.
 */
async function untilCatchesSigterm(pid: number, timeoutMs: number): Promise<void> {
  const sigterm = 1n << 14n
  for (let waitedMs = 0; waitedMs < timeoutMs; waitedMs += 2) {
    let caught: bigint
    try {
      caught = BigInt(`0x${/SigCgt:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0'}`)
    } catch {
      await new Promise((r) => setTimeout(r, 250)) // no /proc: not Linux, or the process is gone
      return
    }
    if (caught & sigterm) return
    await new Promise((r) => setTimeout(r, 2))
  }
}

/** Starts a private anvil on a free 127.0.0.1 port; `stop()` ends exactly that process and waits until it has exited. */
export async function startAnvil({
  chainId = 31337,
  timeoutMs = 20_000,
  args = [],
  statePath,
  stateIntervalSec,
  stopTimeoutMs = 15_000,
}: StartAnvilParameters = {}): Promise<Anvil> {
  const port = await freePort()
  const stateArgs = statePath ? ['--state', statePath, ...(stateIntervalSec ? ['--state-interval', String(stateIntervalSec)] : [])] : []
  const bin = findAnvilBinary()
  const child = spawn(bin, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), ...stateArgs, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  // 'close' comes after the exit and the end of the pipes; with the npm wrapper the pipes
  // stay open until the real anvil (which inherits them) has exited too
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()))
  let output = ''
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new AnvilStartError(port, `not listening after ${timeoutMs} ms`, output))
    }, timeoutMs)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes(`Listening on 127.0.0.1:${port}`)) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new AnvilStartError(port, `could not spawn ${bin}`, String(error)))
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new AnvilStartError(port, `exited with code ${code}`, output))
    })
  })
  // keep draining so a full pipe never blocks anvil
  child.stdout!.resume()
  child.stderr!.resume()
  if (bin !== wrapperBin) await untilCatchesSigterm(child.pid!, 2_000)
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const timer = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs)
      child.kill('SIGTERM')
      await closed
      clearTimeout(timer)
    } else await closed
  }
  return { rpcUrl: `http://127.0.0.1:${port}`, port, chainId, process: child, stop }
}
