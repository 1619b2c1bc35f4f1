import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import { startCoreProcess, type UtilityProcessLike } from '../../electron/startCoreProcess.ts'
import { fakeElectron } from '../support/fakeElectron.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
/** A process's command line, or '' once it is gone. */
const argsOf = (pid: number) => {
  try {
    return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' })
  } catch {
    return ''
  }
}
const running = () => execFileSync('ps', ['-eo', 'pid=,stat='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => !r[1]!.startsWith('Z')).map((r) => Number(r[0]))

describe('startCoreProcess', () => {
  it('a core process that crashed (SIGKILL, no chance to stop) leaves no simulator behind: main stops what it saw below it in the process table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-core-crash-'))
    const lines: string[] = []
    const core = await startCoreProcess({ fork: (e) => fakeElectron.utilityProcess.fork(e) as unknown as UtilityProcessLike, entry: join(repo, 'electron', 'coreProcess.ts'), site: { kind: 'demo', dataDir: join(dir, 'data'), freePorts: true, peers: 0, historyDays: 1 }, log: (l) => lines.push(l) })
    const [corePid] = core.pids()
    // Nothing reports the simulator's pid: main found it below the core process in the process table.
    const simPid = await vi.waitFor(
      () => {
        const pid = core.pids().find((p) => p !== corePid && / sim --site /.test(argsOf(p)))
        if (!pid) throw new Error('main has not seen the simulator yet')
        return pid
      },
      { timeout: 20_000, interval: 250 },
    )
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
