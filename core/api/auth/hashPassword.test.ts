import { expect, it } from 'vitest'
import { hashPassword } from './hashPassword.ts'
import { verifyPassword } from './verifyPassword.ts'

const cheap = { N: 1024, r: 8, p: 1 }

it('hashes with a random salt and verifies only the same password', async () => {
  const a = await hashPassword('correct horse', cheap)
  const b = await hashPassword('correct horse', cheap)
  expect(a).toMatch(/^scrypt\$1024\$8\$1\$[\w-]{22}\$[\w-]{43}$/)
  expect(a).not.toBe(b)
  expect(await verifyPassword('correct horse', a)).toBe(true)
  expect(await verifyPassword('correct horse', b)).toBe(true)
  expect(await verifyPassword('correct hors', a)).toBe(false)
  expect(await verifyPassword('', a)).toBe(false)
})

it('the default cost is what the hash says', async () => {
  expect(await hashPassword('x')).toMatch(/^scrypt\$32768\$8\$1\$/)
})

it('a malformed or absurd hash matches nothing and allocates nothing big', async () => {
  const good = await hashPassword('pw', cheap)
  for (const bad of ['', 'plain', 'bcrypt$1$2$3$4$5', good.replace('$1024$', '$1073741824$'), good.replace('$8$1$', '$8$99$'), 'scrypt$1024$8$1$$'])
    expect(await verifyPassword('pw', bad)).toBe(false)
})
