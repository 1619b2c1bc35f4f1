import { mkdirSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { lockDataDir } from '../api/lockDataDir.ts'
import { UsageError } from '../errors/BaseError.ts'
import { run } from './siteDemoCli.ts'
import { DemoStoppedError, startDemo } from './startDemo.ts'

/** This process's children, from the process table. */
const children = () =>
  readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        const stat = readFileSync(`/proc/${n}/stat`, 'utf8')
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === process.pid
      } catch {
        return false
      }
    })

describe('startDemo, bad input', () => {
  it('refuses a data folder another service owns before it starts anything, and leaves its lock alone', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'gm-demo-locked-')), 'site')
    mkdirSync(dataDir)
    const lock = lockDataDir(dataDir)
    const lockText = readFileSync(lock.path, 'utf8')
    const before = children()
    await expect(startDemo({ dataDir, freePorts: true, port: 0 })).rejects.toThrow(`${dataDir} is in use by GridMesh pid ${process.pid}`)
    expect(children()).toEqual(before)
    expect(readFileSync(lock.path, 'utf8')).toBe(lockText)
    lock.release()
  })

  it('a demo stopped before it starts starts nothing', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'gm-demo-stopped-')), 'site')
    const before = children()
    await expect(startDemo({ dataDir, signal: AbortSignal.abort(), freePorts: true, port: 0 })).rejects.toBeInstanceOf(DemoStoppedError)
    expect(children()).toEqual(before)
  })

  it('names a bad flag and what it expects', async () => {
    await expect(run(['--peers', '1'])).rejects.toThrow(new UsageError("--peers: expected 0 (no market) or 2-8 sites, got '1'; a market needs two sides"))
    await expect(run(['--history-days', '3'])).rejects.toThrow("--history-days: expected an integer from 7 to 60, got '3'")
    await expect(run(['--peers', '9'])).rejects.toBeInstanceOf(UsageError)
  })
})
