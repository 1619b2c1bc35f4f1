import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { decryptKeystore, encryptKeystore, type ScryptParameters } from '../core/chain/keystore.ts'
import type { BaseError } from '../core/errors/BaseError.ts'
import { DesktopError } from './DesktopError.ts'

/** What the vault needs of Electron's safeStorage (the OS keychain: Keychain, DPAPI, libsecret/kwallet). */
export type SafeStorageLike = { isEncryptionAvailable(): boolean; encryptString(text: string): Buffer; decryptString(data: Buffer): string }

const sealedSchema = z.discriminatedUnion('kind', [
  z.strictObject({ version: z.literal(1), kind: z.literal('safeStorage'), address: z.string().regex(/^0x[0-9a-fA-F]{40}$/), sealed: z.string().min(1) }),
  z.strictObject({ version: z.literal(1), kind: z.literal('passphrase'), address: z.string().regex(/^0x[0-9a-fA-F]{40}$/), keystore: z.unknown() }),
])

export type KeyVaultParameters = {
  /** The site's data folder's keys/ (one file per key: `site`, `operator`). */
  dir: string
  safeStorage: SafeStorageLike
  /** Asks the user for the passphrase (the window's prompt) when the OS keychain is not there; null when cancelled. */
  askPassphrase: (request: PassphraseRequest) => Promise<string | null>
  scrypt?: ScryptParameters
  /** How many passphrases a key may be tried with before unseal gives up; default 3. */
  attempts?: number
}

/** What the prompt shows: why it asks, whether the passphrase is a new one (typed twice), and what was wrong with the last one. */
export type PassphraseRequest = { reason: string; confirm: boolean; error: string | null }

const keyName = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a key name (lower-case letters, digits, -)')

/**
 * The market's site and operator keys at rest: sealed with safeStorage (the OS keychain)
 * where the OS offers it, else with the scrypt keystore (core/chain/keystore.ts) under a
 * passphrase the user types. A sealed key is never replaced by another, and a key that
 * cannot be unsealed (another OS account or machine, a keychain that is gone, a wrong
 * passphrase, a damaged file) is a message naming the key and its address, with the
 * file left exactly as it was.
 */
export function createKeyVault({ dir, safeStorage, askPassphrase, scrypt, attempts = 3 }: KeyVaultParameters) {
  const fileOf = (name: string) => join(dir, `${keyName.parse(name)}.key.json`)
  const passphrase = async (request: PassphraseRequest) => {
    const answer = await askPassphrase(request)
    if (!answer) throw new DesktopError(`${request.reason}: no passphrase given; nothing was changed`)
    return answer
  }
  return {
    has: (name: string) => existsSync(fileOf(name)),
    /** Seals a new key; refuses to replace one already sealed under that name. */
    async seal(name: string, privateKey: Hex): Promise<{ address: string; sealedWith: 'safeStorage' | 'passphrase' }> {
      const file = fileOf(name)
      if (existsSync(file)) throw new DesktopError(`key '${name}' is already sealed in ${file}; it was not replaced (remove it yourself if you mean to)`)
      const address = privateKeyToAccount(privateKey).address
      const record = safeStorage.isEncryptionAvailable()
        ? { version: 1, kind: 'safeStorage', address, sealed: safeStorage.encryptString(privateKey).toString('base64') }
        : { version: 1, kind: 'passphrase', address, keystore: await encryptKeystore(privateKey, await passphrase({ reason: `the OS keychain is not available: choose a passphrase for key '${name}' (${address})`, confirm: true, error: null }), scrypt) }
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      const tmp = `${file}.${process.pid}.tmp`
      writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
      renameSync(tmp, file)
      return { address, sealedWith: record.kind as 'safeStorage' | 'passphrase' }
    },
    /** The private key, or a DesktopError saying which key could not be unsealed and why. */
    async unseal(name: string): Promise<Hex> {
      const file = fileOf(name)
      let input: unknown
      try {
        input = JSON.parse(readFileSync(file, 'utf8'))
      } catch (cause) {
        throw new DesktopError(`key '${name}': ${file} cannot be read (${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}); it was left as it is`)
      }
      const parsed = sealedSchema.safeParse(input)
      if (!parsed.success) throw new DesktopError(`key '${name}': ${file} is not a sealed key (${parsed.error.issues[0]?.message}); it was left as it is`)
      const record = parsed.data
      let key: Hex
      if (record.kind === 'safeStorage') {
        if (!safeStorage.isEncryptionAvailable()) throw new DesktopError(`key '${name}' (${record.address}) was sealed with the OS keychain, which is not available now (on Linux: is the keyring unlocked?); ${file} was left as it is`)
        try {
          key = safeStorage.decryptString(Buffer.from(record.sealed, 'base64')) as Hex
        } catch (cause) {
          throw new DesktopError(`key '${name}' (${record.address}) cannot be unsealed: the OS keychain refused it (sealed by another user account or machine?); ${file} was left as it is`, { cause })
        }
      } else {
        // A wrong passphrase is asked again, saying so; the file is only read.
        let error: string | null = null
        for (let attempt = 1; ; attempt++) {
          const given = await passphrase({ reason: `the passphrase of key '${name}' (${record.address})`, confirm: false, error })
          try {
            key = await decryptKeystore(record.keystore, given, file)
            break
          } catch (cause) {
            const why = (cause as BaseError).shortMessage ?? (cause as Error).message
            if (attempt >= attempts) throw new DesktopError(`key '${name}' (${record.address}) cannot be unsealed after ${attempts} passphrases: ${why}; ${file} was left as it is`, { cause })
            error = `that passphrase does not open key '${name}' (wrong passphrase, or the file was modified); ${attempts - attempt} ${attempts - attempt === 1 ? 'try' : 'tries'} left`
          }
        }
      }
      let address: string
      try {
        address = privateKeyToAccount(key).address
      } catch {
        throw new DesktopError(`key '${name}' (${record.address}): what was unsealed is not a private key; ${file} was left as it is`)
      }
      if (address.toLowerCase() !== record.address.toLowerCase()) throw new DesktopError(`key '${name}': unsealed a key for ${address}, but the file names ${record.address}; ${file} was left as it is`)
      return key
    },
  }
}
