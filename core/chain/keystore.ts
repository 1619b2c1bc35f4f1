// An encrypted key file for headless use: scrypt derives the key-encryption key from a
// passphrase, AES-256-GCM seals the private key. Nothing here logs or returns a key in a
// message; the address is the only identifier that leaves.
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCb, type ScryptOptions } from 'node:crypto'
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { z } from 'zod'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from 'viem'
import { BaseError } from '../errors/BaseError.ts'

const keystoreSchema = z.object({
  version: z.literal(1),
  address: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
  kdf: z.object({
    name: z.literal('scrypt'),
    N: z.number().int().min(1024),
    r: z.number().int().min(1),
    p: z.number().int().min(1),
    salt: z.string().regex(/^[0-9a-f]{64}$/),
  }),
  cipher: z.object({
    name: z.literal('aes-256-gcm'),
    iv: z.string().regex(/^[0-9a-f]{24}$/),
    tag: z.string().regex(/^[0-9a-f]{32}$/),
    ciphertext: z.string().regex(/^[0-9a-f]{64}$/),
  }),
})
export type Keystore = z.infer<typeof keystoreSchema>
export type ScryptParameters = { N: number; r: number; p: number }

/** A key file that cannot be used: names the file or address and what was expected. */
export class KeystoreError extends BaseError {
  override name = 'KeystoreError' as const
}

const defaultScrypt: ScryptParameters = { N: 2 ** 15, r: 8, p: 1 }

function deriveKey(passphrase: string, salt: Buffer, { N, r, p }: ScryptParameters): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }
  return new Promise((resolve, reject) =>
    scryptCb(passphrase.normalize('NFKC'), salt, 32, options, (error, key) => (error ? reject(error) : resolve(key))),
  )
}

/** Seals a private key under a passphrase. */
export async function encryptKeystore(privateKey: Hex, passphrase: string, scrypt: ScryptParameters = defaultScrypt): Promise<Keystore> {
  if (passphrase.length === 0) throw new KeystoreError('keystore: empty passphrase; expected a passphrase')
  const address = privateKeyToAccount(privateKey).address
  const salt = randomBytes(32)
  const iv = randomBytes(12)
  const kek = await deriveKey(passphrase, salt, scrypt)
  const cipher = createCipheriv('aes-256-gcm', kek, iv)
  cipher.setAAD(Buffer.from(address.toLowerCase()))
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  return {
    version: 1,
    address,
    kdf: { name: 'scrypt', ...scrypt, salt: salt.toString('hex') },
    cipher: { name: 'aes-256-gcm', iv: iv.toString('hex'), tag: cipher.getAuthTag().toString('hex'), ciphertext: ciphertext.toString('hex') },
  }
}

/** Opens a sealed key; a wrong passphrase or a modified file fails the same way. */
export async function decryptKeystore(keystore: unknown, passphrase: string, where = 'keystore'): Promise<Hex> {
  const parsed = keystoreSchema.safeParse(keystore)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    throw new KeystoreError(`${where}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}; expected a version 1 scrypt/aes-256-gcm key file`)
  }
  const ks = parsed.data
  const kek = await deriveKey(passphrase, Buffer.from(ks.kdf.salt, 'hex'), ks.kdf)
  let privateKey: Hex
  try {
    const decipher = createDecipheriv('aes-256-gcm', kek, Buffer.from(ks.cipher.iv, 'hex'))
    decipher.setAAD(Buffer.from(ks.address.toLowerCase()))
    decipher.setAuthTag(Buffer.from(ks.cipher.tag, 'hex'))
    const plain = Buffer.concat([decipher.update(Buffer.from(ks.cipher.ciphertext, 'hex')), decipher.final()])
    privateKey = `0x${plain.toString('hex')}`
  } catch (cause) {
    throw new KeystoreError(`${where} (${ks.address}): wrong passphrase or modified file; expected the passphrase it was sealed with`, {
      details: cause instanceof Error ? cause.message : undefined,
    })
  }
  if (privateKeyToAccount(privateKey).address !== ks.address)
    throw new KeystoreError(`${where} (${ks.address}): the sealed key belongs to another address; expected ${ks.address}`)
  return privateKey
}

/** Writes a key file atomically, readable by its owner only. */
export function saveKeystore(path: string, keystore: Keystore): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(keystore, null, 2) + '\n', { mode: 0o600 })
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

/** Reads and opens a key file. */
export async function loadKeystore(path: string, passphrase: string): Promise<Hex> {
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new KeystoreError(`${path}: cannot read a JSON key file`, { cause })
  }
  return decryptKeystore(json, passphrase, path)
}

/** The environment variable GridMesh processes read a keystore passphrase from (never a flag or a file). */
export const keystorePassphraseEnv = 'GRIDMESH_KEYSTORE_PASSPHRASE'
