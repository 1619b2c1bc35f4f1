import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { stringify } from 'yaml'

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

/** Runs `gridmesh sim` and resolves once it printed its api line (rejects if it exits first). */
export function spawnSim(args: string[], timeoutMs = 20_000): Promise<SpawnedSim> {
  const child = spawn(process.execPath, [cli, 'sim', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const ready: ReadyEvent[] = []
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`gridmesh sim did not become ready in ${timeoutMs} ms; stderr:\n${stderr}`))
    }, timeoutMs)
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as ReadyEvent | { event: 'api'; url: string }
      if (event.event === 'ready') ready.push(event)
      else if (event.event === 'api') {
        clearTimeout(timer)
        resolve({
          child, ready, apiUrl: event.url, stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM')
            return exited
          },
        })
      }
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(Object.assign(new Error(`gridmesh sim exited with ${code} before it was ready; stderr:\n${stderr}`), { code, stderr }))
    })
  })
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
