import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterAll, describe, expect, it } from 'vitest'
import { lockDataDir } from './lockDataDir.ts'

const work = mkdtempSync(join(tmpdir(), 'gridmesh-lock-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
let n = 0
const freshDir = () => mkdtempSync(join(work, `d${n++}-`))
const record = (r: Partial<{ pid: number; host: string; startedAt: string; processStart: string | null; nonce: string }>) =>
  `${JSON.stringify({ pid: 1, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', processStart: null, nonce: 'n', ...r })}\n`
/** The pid of a process that has exited (and been reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid!

describe('lockDataDir', () => {
  it('refuses a second owner by name while the first holds it, and lets the next one in after release', () => {
    const dir = freshDir()
    const first = lockDataDir(dir)
    expect(first.tookOver).toBeNull()
    expect(() => lockDataDir(dir)).toThrow(new RegExp(`^${dir} is in use by GridMesh pid ${process.pid} \\(started \\d{4}-\\d\\d-\\d\\dT`))
    expect(readdirSync(dir)).toEqual(['gridmesh.lock'])
    first.release()
    expect(existsSync(join(dir, 'gridmesh.lock'))).toBe(false)
    const second = lockDataDir(dir)
    expect(JSON.parse(readFileSync(second.path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() })
    second.release()
  })

  it('takes over a lock whose process is gone', () => {
    const dir = freshDir()
    const pid = deadPid()
    writeFileSync(join(dir, 'gridmesh.lock'), record({ pid }))
    const lock = lockDataDir(dir)
    expect(lock.tookOver).toBe(`took over ${join(dir, 'gridmesh.lock')} from pid ${pid} (started 2026-01-01T00:00:00.000Z), which no longer runs`)
    expect(JSON.parse(readFileSync(lock.path, 'utf8'))).toMatchObject({ pid: process.pid })
    expect(readdirSync(dir)).toEqual(['gridmesh.lock'])
    lock.release()
  })

  it('takes over a lock whose pid now belongs to another process (pid reuse)', () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'gridmesh.lock'), record({ pid: process.pid, processStart: '1' }))
    const lock = lockDataDir(dir)
    expect(lock.tookOver).toMatch(/from pid \d+ .*which no longer runs/)
    lock.release()
  })

  it('replaces a lock file that is not a record, and refuses one from another host', () => {
    const dir = freshDir()
    writeFileSync(join(dir, 'gridmesh.lock'), '{"pid":')
    const lock = lockDataDir(dir)
    expect(lock.tookOver).toMatch(/which was not a lock record/)
    lock.release()
    writeFileSync(join(dir, 'gridmesh.lock'), record({ pid: 4242, host: 'other-box' }))
    expect(() => lockDataDir(dir)).toThrow(`${dir} is in use by GridMesh pid 4242 on host other-box (started 2026-01-01T00:00:00.000Z)`)
  })

  it('release leaves a lock that is no longer its own', () => {
    const dir = freshDir()
    const lock = lockDataDir(dir)
    const theirs = record({ pid: process.pid, nonce: 'theirs' })
    writeFileSync(lock.path, theirs)
    lock.release()
    expect(readFileSync(lock.path, 'utf8')).toBe(theirs)
  })
})

describe('lockDataDir: a folder it cannot write', () => {
  it('names the folder and the reason', () => {
    const missing = join(work, 'no-such-folder')
    expect(() => lockDataDir(missing)).toThrow(`${missing}: cannot write the lock file ${join(missing, 'gridmesh.lock')} (ENOENT); expected a folder this user can write`)
  })
})

describe('lockDataDir: processes racing for one folder', () => {
  const runTs = new URL('../../bin/run-ts.js', import.meta.url).pathname
  const child = new URL('../../test/support/lockDataDirChild.ts', import.meta.url).pathname

  it('exactly one of 6 wins each of 25 rounds, on a free folder and on one whose lock a dead process left', { timeout: 180_000 }, async () => {
    const dir = freshDir()
    const kids = Array.from({ length: 6 }, () => spawn(process.execPath, [runTs, child, dir], { stdio: ['pipe', 'pipe', 'inherit'] }))
    const next = kids.map((k) => {
      const lines: string[] = []
      const waiters: ((line: string) => void)[] = []
      createInterface({ input: k.stdout! }).on('line', (line) => (waiters.shift() ?? ((l: string) => lines.push(l)))(line))
      return () => new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiters.push(resolve)))
    })
    const all = (line: string) => Promise.all(kids.map((k, i) => (k.stdin!.write(`${line}\n`), next[i]!())))
    try {
      expect(await Promise.all(next.map((n) => n()))).toEqual(kids.map(() => 'ready'))
      for (let round = 0; round < 25; round++) {
        const stale = round % 2 === 1
        const dead = stale ? deadPid() : 0
        if (stale) writeFileSync(join(dir, 'gridmesh.lock'), record({ pid: dead }))
        const lines = await all('go')
        const winners = lines.filter((l) => l.startsWith('locked'))
        expect(winners, `round ${round}:\n${lines.join('\n')}`).toHaveLength(1)
        // (Which contender wins is open: one may clear the dead lock and another link first.)
        expect(winners[0]).not.toContain('not a lock record')
        for (const l of lines.filter((x) => !x.startsWith('locked'))) expect(l).toMatch(new RegExp(`^refused ${dir} is in use by GridMesh pid \\d+ \\(started `))
        await all('release')
        expect(readdirSync(dir)).toEqual([])
      }
    } finally {
      await Promise.all(kids.map((k) => new Promise((resolve) => (k.exitCode !== null ? resolve(null) : (k.on('exit', resolve), k.stdin!.end())))))
    }
  })
})
