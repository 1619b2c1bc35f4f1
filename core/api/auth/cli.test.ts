import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'
import { createStore } from '../../store/createStore.ts'
import { verifyPassword } from './verifyPassword.ts'

const cli = fileURLToPath(new URL('../../../bin/gridmesh.js', import.meta.url))
const users = (args: string[], input = '') => {
  const r = spawnSync(process.execPath, [cli, 'users', ...args], { input, encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const stored = (data: string) => {
  const store = createStore({ path: join(data, 'gridmesh.db') })
  try {
    return store.users.list().map((u) => ({ ...u, hash: store.users.get(u.name)!.passwordHash }))
  } finally {
    store.close()
  }
}

it('adds accounts with the password from stdin or a file, lists and removes them', async () => {
  // a data folder the CLI makes itself, with a permissive umask
  const data = join(mkdtempSync(join(tmpdir(), 'gm-users-cli-')), 'data')
  expect(users(['add', 'ann', '--role', 'operator', '--data', data], 'ann-password\n')).toMatchObject({ code: 0, stdout: `added ann (operator) to ${data}/gridmesh.db\n` })
  const file = join(data, 'pw.txt')
  writeFileSync(file, 'ian-password\nsecond line ignored\n')
  expect(users(['add', 'ian', '--role', 'installer', '--password-file', file, '--data', data]).code).toBe(0)
  const [ann, ian] = stored(data)
  expect(await verifyPassword('ann-password', ann!.hash)).toBe(true)
  expect(await verifyPassword('ian-password', ian!.hash)).toBe(true)
  expect(ann!.hash).not.toContain('ann-password')
  const list = users(['list', '--data', data])
  expect(list.stdout).toMatch(/^ann\toperator\t\d{4}-.*\nian\tinstaller\t/)
  // The store holds password hashes: only this user reads it, however the umask is set.
  for (const f of ['gridmesh.db', 'gridmesh.db-wal', 'gridmesh.db-shm'].map((n) => join(data, n)).filter(existsSync)) expect({ f, mode: statSync(f).mode & 0o777 }).toEqual({ f, mode: 0o600 })
  expect(statSync(data).mode & 0o077).toBe(0)
  expect(users(['remove', 'ann', '--data', data])).toMatchObject({ code: 0, stdout: 'removed ann; its sessions are signed out\n' })
  expect(stored(data).map((u) => u.name)).toEqual(['ian'])
})

it('refuses a password flag, a short password, a bad role or name, a taken name, and changes nothing', () => {
  const data = mkdtempSync(join(tmpdir(), 'gm-users-cli-'))
  users(['add', 'ann', '--role', 'viewer', '--data', data], 'ann-password')
  const before = stored(data)
  const cases: [string[], string, number, RegExp][] = [
    [['add', 'bob', '--role', 'viewer', '--password', 'x', '--data', data], '', 2, /--password is not accepted/],
    [['add', 'bob', '--role', 'viewer', '--data', data], 'short\n', 2, /the password from standard input has 5 characters; expected at least 8/],
    [['add', 'bob', '--role', 'viewer', '--data', data], '', 2, /has 0 characters/],
    [['add', 'bob', '--role', 'root', '--data', data], 'long-enough', 2, /--role: expected one of viewer\|operator\|installer, got 'root'/],
    [['add', 'bob', '--data', data], 'long-enough', 2, /--role: expected one of .*, got nothing/],
    [['add', 'b b', '--role', 'viewer', '--data', data], 'long-enough', 2, /NAME 'b b': expected 1-64 letters/],
    [['add', 'local', '--role', 'viewer', '--data', data], 'long-enough', 2, /'local' is reserved/],
    [['add', 'ann', '--role', 'installer', '--data', data], 'long-enough', 1, /users.add: name: expected a name no account has yet .*got 'ann'/],
    [['add', 'bob', '--role', 'viewer', '--password-file', join(data, 'nope'), '--data', data], '', 2, /--password-file .*nope: cannot read it \(ENOENT\)/],
    [['remove', 'zed', '--data', data], '', 2, /no account 'zed'/],
    [['list', '--data', join(data, 'missing')], '', 2, /no store at .*missing\/gridmesh.db/],
    [['rename', 'ann', '--data', data], '', 2, /unknown action 'rename'/],
  ]
  for (const [args, input, code, message] of cases) {
    const r = users(args, input)
    expect(r.code, args.join(' ')).toBe(code)
    expect(r.stderr, args.join(' ')).toMatch(message)
  }
  expect(stored(data)).toEqual(before)
})
