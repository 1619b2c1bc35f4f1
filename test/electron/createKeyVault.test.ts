import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { createKeyVault, type PassphraseRequest } from '../../electron/createKeyVault.ts'
import { fakeElectron } from '../support/fakeElectron.ts'

// Fast scrypt for tests; the app uses the keystore's default (N = 2^15).
const scrypt = { N: 1024, r: 8, p: 1 }
const vault = (dir: string, passphrases: (string | null)[] = [], asked: PassphraseRequest[] = []) =>
  createKeyVault({
    dir,
    safeStorage: fakeElectron.safeStorage,
    askPassphrase: async (request) => {
      asked.push(request)
      return passphrases.shift() ?? null
    },
    scrypt,
  })

describe('createKeyVault', () => {
  it('seals with safeStorage where the OS offers it, and unseals to the same key', async () => {
    fakeElectron.safeStorage.available = true
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-keys-'))
    const key = generatePrivateKey()
    expect(await vault(dir).seal('site', key)).toEqual({ address: privateKeyToAccount(key).address, sealedWith: 'safeStorage' })
    expect(readFileSync(join(dir, 'site.key.json'), 'utf8')).not.toContain(key.slice(2))
    expect(await vault(dir).unseal('site')).toBe(key)
  })

  it('falls back to the scrypt keystore with a passphrase prompt', async () => {
    fakeElectron.safeStorage.available = false
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-keys-'))
    const key = generatePrivateKey()
    const asked: PassphraseRequest[] = []
    expect((await vault(dir, ['correct horse'], asked).seal('operator', key)).sealedWith).toBe('passphrase')
    // a new passphrase is typed twice in the prompt
    expect(asked).toEqual([{ reason: expect.stringMatching(/choose a passphrase for key 'operator'/), confirm: true, error: null }])
    expect(await vault(dir, ['correct horse']).unseal('operator')).toBe(key)
    const before = readFileSync(join(dir, 'operator.key.json'), 'utf8')
    // A wrong passphrase is asked again, saying so (never showing what was typed); the right one then opens it.
    const retried: PassphraseRequest[] = []
    expect(await vault(dir, ['hunter2-typo', 'correct horse'], retried).unseal('operator')).toBe(key)
    expect(retried.map((r) => r.error)).toEqual([null, expect.stringMatching(/^that passphrase does not open key 'operator' .*; 2 tries left$/)])
    expect(JSON.stringify(retried)).not.toContain('hunter2-typo')
    await expect(vault(dir, ['wrong', 'wrong too', 'still wrong']).unseal('operator')).rejects.toThrow(/key 'operator' \(0x[0-9a-fA-F]{40}\) cannot be unsealed after 3 passphrases: .*left as it is/)
    await expect(vault(dir, ['wrong', null]).unseal('operator')).rejects.toThrow(/no passphrase given; nothing was changed/)
    expect(readFileSync(join(dir, 'operator.key.json'), 'utf8')).toBe(before)
  })

  it('a key that cannot be unsealed: a clear message naming key and address, nothing overwritten', async () => {
    fakeElectron.safeStorage.available = true
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-keys-'))
    const key = generatePrivateKey()
    await vault(dir).seal('site', key)
    const file = join(dir, 'site.key.json')
    const original = readFileSync(file, 'utf8')
    // Sealed by another account's keychain: the OS refuses to decrypt it.
    const record = JSON.parse(original) as { sealed: string }
    writeFileSync(file, JSON.stringify({ ...record, sealed: Buffer.from('not ours').toString('base64') }))
    const foreign = readFileSync(file, 'utf8')
    await expect(vault(dir).unseal('site')).rejects.toThrow(/key 'site' \(0x[0-9a-fA-F]{40}\) cannot be unsealed: the OS keychain refused it .*left as it is/)
    expect(readFileSync(file, 'utf8')).toBe(foreign)
    // The keychain went away (a locked Linux keyring).
    writeFileSync(file, original)
    fakeElectron.safeStorage.available = false
    await expect(vault(dir).unseal('site')).rejects.toThrow(/sealed with the OS keychain, which is not available now/)
    fakeElectron.safeStorage.available = true
    // A damaged file, and a second seal under the same name: refused, the file kept.
    writeFileSync(file, '{"version":1,')
    await expect(vault(dir).unseal('site')).rejects.toThrow(/cannot be read .*left as it is/)
    writeFileSync(file, original)
    await expect(vault(dir).seal('site', generatePrivateKey())).rejects.toThrow(/already sealed .*not replaced/)
    expect(readFileSync(file, 'utf8')).toBe(original)
    expect(await vault(dir).unseal('site')).toBe(key)
  })
})
