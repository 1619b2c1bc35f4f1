import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BaseError } from '../errors/BaseError.ts'

const anvilBin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'node_modules', '.bin', 'anvil')

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
export type StartAnvilParameters = { chainId?: number; timeoutMs?: number; args?: string[] }

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

/** Starts a private anvil on a free 127.0.0.1 port; `stop()` kills exactly that process. */
export async function startAnvil({ chainId = 31337, timeoutMs = 20_000, args = [] }: StartAnvilParameters = {}): Promise<Anvil> {
  const port = await freePort()
  const child = spawn(anvilBin, ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(chainId), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
      reject(new AnvilStartError(port, `could not spawn ${anvilBin}`, String(error)))
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new AnvilStartError(port, `exited with code ${code}`, output))
    })
  })
  // keep draining so a full pipe never blocks anvil
  child.stdout!.resume()
  child.stderr!.resume()
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  }
  return { rpcUrl: `http://127.0.0.1:${port}`, port, chainId, process: child, stop }
}
