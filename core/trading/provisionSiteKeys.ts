// `gridmesh market keys`: a site's owner and meter keys, sealed in scrypt key files in its
// data folder (the paths the site file's market.site names by default). Existing files are
// kept: their addresses are read from them (a key file names its address in the clear).
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { dirname, isAbsolute, join } from 'node:path'
import type { Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { encryptKeystore, keystorePassphraseEnv, saveKeystore } from '../chain/keystore.ts'
import { TradingError } from './TradingError.ts'

export type ProvisionSiteKeysParameters = {
  dataDir: string
  /** relative to dataDir unless absolute (the site file's market.site defaults) */
  ownerKeyFile?: string
  meterKeyFile?: string
  /** default: GRIDMESH_KEYSTORE_PASSPHRASE */
  passphrase?: string | undefined
}

/** Creates the missing key files; returns both addresses and which files were created. */
export async function provisionSiteKeys({ dataDir, ownerKeyFile = 'keys/owner.json', meterKeyFile = 'keys/meter.json', passphrase = process.env[keystorePassphraseEnv] }: ProvisionSiteKeysParameters) {
  const one = async (file: string): Promise<{ address: Address; path: string; created: boolean }> => {
    const path = isAbsolute(file) ? file : join(dataDir, file)
    if (existsSync(path)) {
      let address: unknown
      try {
        address = (JSON.parse(readFileSync(path, 'utf8')) as { address?: unknown }).address
      } catch (cause) {
        throw new TradingError(`${path}: not a JSON key file; expected a GridMesh scrypt key file (move it away to create a new key)`, { cause })
      }
      if (typeof address !== 'string' || !/^0x[0-9a-fA-F]{40}$/.test(address)) throw new TradingError(`${path}: address: expected 0x and 40 hex digits, got ${JSON.stringify(address)}`)
      return { address: address as Address, path, created: false }
    }
    if (!passphrase) throw new TradingError(`${keystorePassphraseEnv} is not set; expected the passphrase to seal the new key file ${path} with (the site's serve opens it with the same one)`)
    const key = generatePrivateKey()
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    saveKeystore(path, await encryptKeystore(key, passphrase))
    return { address: privateKeyToAccount(key).address, path, created: true }
  }
  const owner = await one(ownerKeyFile)
  const meter = await one(meterKeyFile)
  if (owner.address.toLowerCase() === meter.address.toLowerCase()) throw new TradingError(`${owner.path} and ${meter.path} hold the same key ${owner.address}; expected two keys (the registry refuses an owner that is its own meter)`)
  return { owner, meter }
}
