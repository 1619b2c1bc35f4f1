import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeSecretFile } from './writeSecretFile.ts'

const work = mkdtempSync(join(tmpdir(), 'gridmesh-secret-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))
const modeOf = (path: string) => statSync(path).mode & 0o777

describe('writeSecretFile', () => {
  it('is 0600 even when a stale 0644 temporary file and a 0644 target exist', () => {
    const path = join(work, 'api-token')
    writeFileSync(`${path}.tmp`, 'stale\n', { mode: 0o644 })
    writeFileSync(path, 'old\n', { mode: 0o644 })
    expect(modeOf(`${path}.tmp`)).toBe(0o644)
    writeSecretFile(path, 'new-token\n')
    expect(modeOf(path)).toBe(0o600)
    expect(readFileSync(path, 'utf8')).toBe('new-token\n')
    expect(existsSync(`${path}.tmp`)).toBe(false)
  })

  it('does not write through a symlink planted as the temporary file', () => {
    const path = join(work, 'token2')
    const victim = join(work, 'victim')
    writeFileSync(victim, 'untouched', { mode: 0o644 })
    symlinkSync(victim, `${path}.tmp`)
    writeSecretFile(path, 'secret\n')
    expect(readFileSync(victim, 'utf8')).toBe('untouched')
    expect(modeOf(victim)).toBe(0o644)
    expect(modeOf(path)).toBe(0o600)
    expect(readFileSync(path, 'utf8')).toBe('secret\n')
  })
})
