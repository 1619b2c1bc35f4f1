import { randomBytes, scrypt, type ScryptOptions } from 'node:crypto'

/** scrypt cost: N = 2^15, r = 8 (32 MiB, ~0.1 s on a small ARM board): each guess costs an attacker the same. */
export type ScryptCost = { N: number; r: number; p: number }
export const defaultScryptCost: ScryptCost = { N: 2 ** 15, r: 8, p: 1 }
const keyBytes = 32

export function scryptAsync(password: string, salt: Buffer, cost: ScryptCost): Promise<Buffer> {
  const options: ScryptOptions = { ...cost, maxmem: 256 * cost.N * cost.r + 1024 * 1024 }
  return new Promise((resolve, reject) => scrypt(password.normalize('NFC'), salt, keyBytes, options, (error, key) => (error ? reject(error) : resolve(key))))
}

/** `scrypt$N$r$p$salt$key` (base64url) with a fresh 16-byte salt: what the store keeps instead of the password. */
export async function hashPassword(password: string, cost: ScryptCost = defaultScryptCost): Promise<string> {
  const salt = randomBytes(16)
  const key = await scryptAsync(password, salt, cost)
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64url'), key.toString('base64url')].join('$')
}
