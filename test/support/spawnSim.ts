import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { startSimulatorProcess } from '../../core/simulator/startSimulatorProcess.ts'

const cli = new URL('../../bin/gridmesh.js', import.meta.url).pathname

export type ReadyEvent = { event: 'ready'; device: string; kind: string; transport: string; host: string | null; port: number | null; path: string | null; unitId: number; sunspecBase: number }

export type SpawnedSim = {
  child: ChildProcess
  ready: ReadyEvent[]
  apiUrl: string
  stderr: () => string
  stop(): Promise<number | null>
}

/** Writes a site object to a temporary YAML file and returns its path. */
export function writeSiteFile(site: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-site-'))
  const file = join(dir, 'site.yaml')
  writeFileSync(file, typeof site === 'string' ? site : stringify(site))
  return file
}

/** Runs `gridmesh sim` (core's startSimulatorProcess) and resolves once it printed its api line (rejects if it exits first). */
export async function spawnSim(args: string[], timeoutMs = 20_000): Promise<SpawnedSim> {
  const sim = await startSimulatorProcess(args, timeoutMs)
  return { child: sim.child, ready: sim.ready.map((r) => ({ event: 'ready', ...r, path: r.path ?? null })), apiUrl: sim.apiUrl, stderr: sim.stderr, stop: sim.stop }
}

/** Runs the CLI to completion and returns its exit code and output. */
export function runCli(args: string[], timeoutMs = 20_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}
