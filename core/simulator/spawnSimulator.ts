import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'
import { BaseError } from '../errors/BaseError.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))

export type SimReady = { device: string; kind: string; transport: string; host: string | null; port: number | null; unitId: number; sunspecBase: number }

export class SimulatorProcessError extends BaseError {
  override name = 'SimulatorProcessError' as const
}

/**
 * Runs `gridmesh sim` as a separate program (core never imports the simulator) and
 * drives its clock through the simulator's HTTP API.
 */
export async function spawnSimulator(siteFile: string, seed: number, timeoutMs = 30_000, options: { speed?: number } = {}) {
  const child: ChildProcess = spawn(process.execPath, [cli, 'sim', '--site', siteFile, '--seed', String(seed), '--speed', String(options.speed ?? 0)], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-10_000)))
  const ready: SimReady[] = []
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new SimulatorProcessError(`the simulator did not start within ${timeoutMs} ms: ${stderr}`)), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new SimulatorProcessError(`the simulator exited with ${code} before it was ready: ${stderr.trim()}`))
    })
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as SimReady & { event: string; url?: string }
      if (event.event === 'ready') ready.push(event)
      if (event.event === 'api') {
        clearTimeout(timer)
        resolve(event.url!)
      }
    })
  })
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(apiUrl + path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) })
    const json = (await res.json()) as T & { error?: string }
    if (!res.ok) throw new SimulatorProcessError(`simulator API ${method} ${path}: ${json.error ?? res.status}`)
    return json
  }
  return {
    ready,
    apiUrl,
    advance: (seconds: number) => call<{ timeMs: number }>('POST', '/api/clock/advance', { seconds }),
    state: () => call<SimState>('GET', '/api/state'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

export type SimState = {
  timeMs: number
  powerW: { load: number; pv: number; battery: number; grid: number }
  energyWh: { loadWh: number; pvWh: number; gridImportWh: number; gridExportWh: number; batteryCharge: number; batteryDischarge: number }
  devices: { name: string; kind: string; socPct?: number; powerW?: number }[]
}
