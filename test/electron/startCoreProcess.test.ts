import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { startCoreProcess, type UtilityProcessLike } from '../../electron/startCoreProcess.ts'
import { fakeElectron } from '../support/fakeElectron.ts'
import { testSite } from '../support/simSites.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
const running = () => execFileSync('ps', ['-eo', 'pid=,stat='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => !r[1]!.startsWith('Z')).map((r) => Number(r[0]))

describe('startCoreProcess', () => {
  it('a core process that crashed (SIGKILL, no chance to stop) leaves no simulator behind: main stops what it reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-core-crash-'))
    const simSite = join(dir, 'sim-site.json')
    writeFileSync(simSite, JSON.stringify(testSite()))
    const lines: string[] = []
    const core = await startCoreProcess({ fork: (e) => fakeElectron.utilityProcess.fork(e) as unknown as UtilityProcessLike, entry: join(repo, 'electron', 'coreProcess.ts'), site: { kind: 'demo', dataDir: join(dir, 'data'), simSiteFile: simSite }, log: (l) => lines.push(l) })
    const [corePid, simPid] = core.pids()
    expect(simPid).toBeGreaterThan(0)
    fakeElectron.utilityProcess.started.at(-1)!.child.kill('SIGKILL')
    await expect(core.request({ kind: 'query', path: 'state', params: {} })).rejects.toThrow(/core process (exited|is not running)/)
    await core.stop()
    expect(running().filter((p) => p === corePid || p === simPid)).toEqual([])
    // The simulator does not end with its parent: it was main that stopped it.
    expect(lines).toContain(`core: child ${simPid} outlived the core process; stopping it`)
  }, 240_000)

  it('a site that cannot start is a message, and the process is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-core-bad-'))
    writeFileSync(join(dir, 'site.yaml'), 'name: broken\ndevices: []\n')
    await expect(startCoreProcess({ fork: (e) => fakeElectron.utilityProcess.fork(e) as unknown as UtilityProcessLike, entry: join(repo, 'electron', 'coreProcess.ts'), site: { kind: 'file', file: join(dir, 'site.yaml'), dataDir: join(dir, 'data') } })).rejects.toThrow(/site\.yaml/)
    const pid = fakeElectron.utilityProcess.started.at(-1)!.pid!
    for (let i = 0; i < 50 && running().includes(pid); i++) await new Promise((r) => setTimeout(r, 100))
    expect(running()).not.toContain(pid)
  }, 120_000)
})
