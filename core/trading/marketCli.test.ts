import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { keystorePassphraseEnv, loadKeystore } from '../chain/keystore.ts'
import { runMarketCli } from './marketCli.ts'
import { provisionSiteKeys } from './provisionSiteKeys.ts'

afterEach(() => {
  vi.restoreAllMocks()
  vi.unstubAllEnvs()
})

const captured = () => {
  let out = ''
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk)
    return true
  })
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true)
  return () => out
}

describe('gridmesh market', () => {
  it('lists keys and register, and answers --help for each', async () => {
    const out = captured()
    expect(await runMarketCli(['--help'])).toBe(0)
    expect(out()).toMatch(/keys --data DIR[\s\S]*register --site FILE --data DIR --site-id N/)
    expect(await runMarketCli(['register', '--help'])).toBe(0)
    expect(out()).toMatch(/usage: gridmesh market register --site OPERATOR_SITE_FILE/)
  })

  it('names a missing or malformed flag', async () => {
    await expect(runMarketCli(['nope'])).rejects.toThrow("gridmesh market: unknown subcommand 'nope'; expected one of: keys, register")
    await expect(runMarketCli(['keys'])).rejects.toThrow("gridmesh market keys: --data: expected the site's data folder")
    await expect(runMarketCli(['register', '--data', 'x', '--site-id', '0'])).rejects.toThrow('gridmesh market register: --site: missing')
    await expect(runMarketCli(['register', '--site', 'x', '--data', 'x', '--site-id', '64'])).rejects.toThrow("--site-id: expected an integer 0-63, got '64'")
    await expect(runMarketCli(['register', '--site', 'x', '--data', 'x', '--site-id', '1', '--escrow', '1e6'])).rejects.toThrow("--escrow: expected a whole number of units, got '1e6'")
    await expect(runMarketCli(['keys', '--data', 'x', '--bogus'])).rejects.toThrow(/market keys: Unknown option '--bogus'/)
  })

  it('keys: seals two new keys under the passphrase, prints their addresses, and keeps them on a second run', async () => {
    const data = mkdtempSync(join(tmpdir(), 'market-keys-'))
    vi.stubEnv(keystorePassphraseEnv, 'keys test')
    const out = captured()
    expect(await runMarketCli(['keys', '--data', data])).toBe(0)
    const printed = JSON.parse(out()) as { owner: string; meter: string }
    expect(printed.owner).not.toBe(printed.meter)
    const owner = await loadKeystore(join(data, 'keys', 'owner.json'), 'keys test')
    expect(owner).toMatch(/^0x[0-9a-f]{64}$/)
    expect(statSync(join(data, 'keys', 'meter.json')).mode & 0o777).toBe(0o600)
    const again = await provisionSiteKeys({ dataDir: data, passphrase: undefined })
    expect({ owner: again.owner.address, meter: again.meter.address, created: again.owner.created || again.meter.created }).toEqual({ ...printed, created: false })
    expect(readFileSync(join(data, 'keys', 'owner.json'), 'utf8')).toContain(printed.owner)
  })

  it('keys: no passphrase for a new key, and a file that is not a key file, are named', async () => {
    const data = mkdtempSync(join(tmpdir(), 'market-keys-'))
    await expect(provisionSiteKeys({ dataDir: data, passphrase: undefined })).rejects.toThrow(`${keystorePassphraseEnv} is not set; expected the passphrase to seal the new key file ${join(data, 'keys', 'owner.json')}`)
    mkdirSync(join(data, 'keys'))
    writeFileSync(join(data, 'keys', 'owner.json'), 'not json')
    await expect(provisionSiteKeys({ dataDir: data, passphrase: 'x' })).rejects.toThrow(`${join(data, 'keys', 'owner.json')}: not a JSON key file`)
  })
})
