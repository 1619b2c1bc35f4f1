import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { decryptKeystore, encryptKeystore, KeystoreError, loadKeystore, saveKeystore } from './keystore.ts'

const fast = { N: 2 ** 12, r: 8, p: 1 }

describe('keystore', () => {
  it('round-trips a key through a file that only its owner can read', async () => {
    const key = generatePrivateKey()
    const ks = await encryptKeystore(key, 'correct horse', fast)
    expect(ks.address).toBe(privateKeyToAccount(key).address)
    expect(JSON.stringify(ks)).not.toContain(key.slice(2))
    const path = join(mkdtempSync(join(tmpdir(), 'gm-ks-')), 'site.json')
    saveKeystore(path, ks)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(await loadKeystore(path, 'correct horse')).toBe(key)
  })

  it('fails on a wrong passphrase or a modified file, naming the address but never the key', async () => {
    const key = generatePrivateKey()
    const ks = await encryptKeystore(key, 'right', fast)
    const wrong = await decryptKeystore(ks, 'wrong').catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(KeystoreError)
    expect((wrong as Error).message).toContain(ks.address)
    expect((wrong as Error).message).toMatch(/wrong passphrase or modified file/)
    expect((wrong as Error).message).not.toContain(key.slice(2))
    const flipped = ks.cipher.ciphertext.replace(/^./, (c) => (c === '0' ? '1' : '0'))
    await expect(decryptKeystore({ ...ks, cipher: { ...ks.cipher, ciphertext: flipped } }, 'right')).rejects.toThrow(KeystoreError)
    const other = privateKeyToAccount(generatePrivateKey()).address
    await expect(decryptKeystore({ ...ks, address: other }, 'right')).rejects.toThrow(/wrong passphrase or modified file/)
  })

  it('says what is wrong with a file that is not a key file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gm-ks-')), 'bad.json')
    writeFileSync(path, JSON.stringify({ version: 2 }))
    await expect(loadKeystore(path, 'x')).rejects.toThrow(/bad\.json: version: .*expected a version 1 scrypt\/aes-256-gcm key file/)
    writeFileSync(path, 'not json')
    await expect(loadKeystore(path, 'x')).rejects.toThrow(/bad\.json: cannot read a JSON key file/)
    expect(readFileSync(path, 'utf8')).toBe('not json')
  })
})
