import { timingSafeEqual } from 'node:crypto'
import { scryptAsync } from './hashPassword.ts'

/** Whether `password` matches a hash made by hashPassword; compared in constant time. A malformed hash matches nothing. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, key] = stored.split('$')
  const cost = { N: Number(n), r: Number(r), p: Number(p) }
  // A hash from a tampered store must not make us allocate gigabytes.
  if (kind !== 'scrypt' || !salt || !key || ![cost.N, cost.r, cost.p].every(Number.isSafeInteger) || cost.N < 2 || cost.N > 2 ** 20 || cost.r < 1 || cost.r > 32 || cost.p < 1 || cost.p > 16) return false
  const expected = Buffer.from(key, 'base64url')
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), cost)
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
