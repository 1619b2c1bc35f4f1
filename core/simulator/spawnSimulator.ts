import { SimulatorProcessError } from './SimulatorProcessError.ts'
import { startSimulatorProcess } from './startSimulatorProcess.ts'

export type { SimReady } from './startSimulatorProcess.ts'
export { SimulatorProcessError }

/**
 * Runs `gridmesh sim` on a site file with a weather seed (speed 0 by default: the clock
 * moves only when advanced) and drives its clock and reads its state through its HTTP API.
 */
export async function spawnSimulator(siteFile: string, seed: number, timeoutMs = 30_000, options: { speed?: number } = {}) {
  const sim = await startSimulatorProcess(['--site', siteFile, '--seed', String(seed), '--speed', String(options.speed ?? 0)], timeoutMs)
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(sim.apiUrl + path, { method, ...(body !== undefined && { body: JSON.stringify(body) }) })
    const json = (await res.json()) as T & { error?: string }
    if (!res.ok) throw new SimulatorProcessError(`simulator API ${method} ${path}: ${json.error ?? res.status}`)
    return json
  }
  return {
    ready: sim.ready,
    apiUrl: sim.apiUrl,
    advance: (seconds: number) => call<{ timeMs: number }>('POST', '/api/clock/advance', { seconds }),
    state: () => call<SimState>('GET', '/api/state'),
    stop: async () => {
      await sim.stop()
    },
  }
}

export type SimState = {
  timeMs: number
  powerW: { load: number; pv: number; battery: number; grid: number }
  energyWh: { loadWh: number; pvWh: number; gridImportWh: number; gridExportWh: number; batteryCharge: number; batteryDischarge: number }
  devices: { name: string; kind: string; socPct?: number; powerW?: number }[]
}
