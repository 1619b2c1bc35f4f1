import { spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { createStore } from '../../core/store/createStore.ts'
import { rawGet, statusOf, upgradeHeaders } from '../support/rawHttp.ts'
import { testSite } from '../support/simSites.ts'
import { spawnSim, writeSiteFile, type SpawnedSim } from '../support/spawnSim.ts'

// Real `gridmesh serve` processes on one data folder, as two operators (or a service
// manager and a person) would start them: one owner, a second start refused by name,
// a SIGKILLed owner's lock taken over; the secrets it writes are 0600 whatever was left
// in the folder; and a request no one can parse does not kill it.
const cli = new URL('../../bin/gridmesh.js', import.meta.url).pathname
const work = mkdtempSync(join(tmpdir(), 'gridmesh-serve-owner-'))
const children: ChildProcess[] = []
let sim: SpawnedSim | undefined

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  await sim?.stop()
  rmSync(work, { recursive: true, force: true })
})

type Serve = { child: ChildProcess; stderr: () => string; exited: Promise<number | null>; url: string; port: number; token: string }

/** Starts `serve`; resolves when it prints its api line, or rejects with its exit code and stderr. */
function serve(siteFile: string, dataDir: string): Promise<Serve> {
  const child = spawn(process.execPath, [cli, 'serve', '--site', siteFile, '--data', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const [, url, tokenFile] = /^api (http:\/\/127\.0\.0\.1:\d+) token-file (.+)$/.exec(line) ?? []
      if (!url || !tokenFile) return reject(new Error(`unexpected first line: ${line}`))
      resolve({ child, stderr: () => stderr, exited, url, port: Number(new URL(url).port), token: readFileSync(tokenFile, 'utf8').trim() })
    })
    void exited.then((code) => reject(Object.assign(new Error(`serve exited with ${code}: ${stderr}`), { code, stderr })))
  })
}

const modeOf = (path: string) => statSync(path).mode & 0o777

describe('gridmesh serve: one owner per data folder, secrets 0600, no request kills it', () => {
  it('refuses a second serve by name, takes over after SIGKILL, and keeps its files 0600', { timeout: 240_000 }, async () => {
    sim = await spawnSim(['--site', writeSiteFile(testSite())])
    const siteFile = join(work, 'site.yaml')
    writeFileSync(siteFile, stringify({
      name: 'owner-site',
      timezone: 'Australia/Melbourne',
      devices: sim.ready.map((r) => ({ name: r.device, connection: { type: 'tcp', host: '127.0.0.1', port: r.port }, unitId: r.unitId })),
    }))
    const dataDir = join(work, 'data')
    mkdirSync(dataDir)
    // What an earlier run (or another user's umask) left: a world-readable temporary token and store.
    const db = join(dataDir, 'gridmesh.db')
    createStore({ path: db }).close()
    chmodSync(db, 0o644)
    writeFileSync(join(dataDir, 'api-token.tmp'), 'stale\n', { mode: 0o644 })
    writeFileSync(join(dataDir, 'api-token'), 'old\n', { mode: 0o644 })

    const first = await serve(siteFile, dataDir)
    expect(modeOf(join(dataDir, 'api-token'))).toBe(0o600)
    for (const f of [db, `${db}-wal`, `${db}-shm`].filter(existsSync)) expect({ f, mode: modeOf(f) }).toEqual({ f, mode: 0o600 })
    expect(existsSync(`${db}-wal`)).toBe(true)

    // Failure 1: unauthenticated and unparseable, plain and as an upgrade; the service answers 400 and lives.
    for (const headers of [{}, upgradeHeaders]) expect(statusOf(await rawGet(first.port, '//:99999/', headers))).toBe(400)
    const state = await fetch(`${first.url}/api/state`, { headers: { authorization: `Bearer ${first.token}` } })
    expect(state.status).toBe(200)

    // Failure 3: a second serve on the same folder is refused by name and changes nothing.
    const refused = await serve(siteFile, dataDir).then(
      () => null,
      (error: { code: number; stderr: string }) => error,
    )
    expect(refused?.code).toBe(1)
    expect(refused?.stderr).toContain(`${dataDir} is in use by GridMesh pid ${first.child.pid} (started 20`)
    expect(readFileSync(join(dataDir, 'api-token'), 'utf8').trim()).toBe(first.token)
    expect((await fetch(`${first.url}/api/state`, { headers: { authorization: `Bearer ${first.token}` } })).status).toBe(200)

    // SIGKILL leaves the lock behind; the next start sees its owner is gone and takes over.
    first.child.kill('SIGKILL')
    await first.exited
    expect(JSON.parse(readFileSync(join(dataDir, 'gridmesh.lock'), 'utf8'))).toMatchObject({ pid: first.child.pid })
    const third = await serve(siteFile, dataDir)
    expect(third.stderr()).toContain(`took over ${join(dataDir, 'gridmesh.lock')} from pid ${first.child.pid}`)
    expect(third.token).not.toBe(first.token)
    expect(modeOf(join(dataDir, 'api-token'))).toBe(0o600)
    third.child.kill('SIGINT')
    expect(await third.exited).toBe(0)
    // A clean stop releases the folder.
    expect(existsSync(join(dataDir, 'gridmesh.lock'))).toBe(false)
  })
})
