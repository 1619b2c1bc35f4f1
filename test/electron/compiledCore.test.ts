// The built core process (dist/electron/coreProcess.js, `npm run build:app`) runs on plain
// Node, without tsx, as the packaged app's utility process does: it starts the demo (the
// simulator from dist/bin/gridmesh.js), answers a query and stops with its children.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import { startCoreProcess, type UtilityProcessLike } from '../../electron/startCoreProcess.ts'
import { ensureAppBuilt } from '../support/ensureAppBuilt.ts'
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

describe('the compiled core process', () => {
  it('starts the demo from dist/ without tsx, answers over its port, and stops every child', async () => {
    const entry = join(repo, 'dist', 'electron', 'coreProcess.js')
    await ensureAppBuilt()
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-compiled-core-'))
    const core = await startCoreProcess({ fork: (e) => fakeElectron.utilityProcess.fork(e) as unknown as UtilityProcessLike, entry, site: { kind: 'demo', dataDir: join(dir, 'data'), freePorts: true, peers: 0, historyDays: 1 } })
    try {
      const child = fakeElectron.utilityProcess.started.at(-1)!
      expect(child.child.spawnargs.join(' ')).not.toMatch(/tsx/)
      const below = await vi.waitFor(
        () => {
          const args = core.pids().slice(1).map((pid) => argsOf(pid))
          if (!args.some((a) => / sim --site /.test(a))) throw new Error('main has not seen the simulator yet')
          return args
        },
        { timeout: 20_000, interval: 250 },
      )
      expect(below.find((a) => / sim --site /.test(a))).toContain(join('dist', 'bin', 'gridmesh.js'))
      expect(await core.request({ kind: 'query', path: 'state', params: {} })).toMatchObject({ site: { name: 'demo', devices: ['pv1', 'bat1', 'meter1'] } })
    } finally {
      const pids = core.pids()
      await core.stop()
      const running = execFileSync('ps', ['-eo', 'pid=,stat='], { encoding: 'utf8' }).trim().split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => !r[1]!.startsWith('Z')).map((r) => Number(r[0]))
      expect(pids.filter((p) => running.includes(p))).toEqual([])
    }
  }, 240_000)
})
