import { join } from 'node:path'
import type { Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { ScryptParameters } from '../core/chain/keystore.ts'
import { createKeyVault, type PassphraseRequest, type SafeStorageLike } from './createKeyVault.ts'

export type MarketKeys = { site: Hex; operator: Hex }
export type OpenMarketKeysParameters = {
  /** The site's data folder: the keys are sealed in its keys/. */
  dataDir: string
  safeStorage: SafeStorageLike
  /** The window's prompt (createPassphrasePrompt().ask). */
  askPassphrase: (request: PassphraseRequest) => Promise<string | null>
  scrypt?: ScryptParameters
  log?: (line: string) => void
}

export const marketKeyNames = ['site', 'operator'] as const

/**
 * The market's site and operator keys of a site with a market section, when the desktop
 * opens it: unsealed from `<dataDir>/keys/` (createKeyVault: the OS keychain, else the
 * scrypt keystore under a passphrase asked in the window), or made and sealed on the
 * first open. Both keys of a site share one passphrase: the second is tried with the
 * first's before the window asks again. A key that cannot be unsealed rejects with the
 * vault's message and nothing is written.
 */
export async function openMarketKeys({ dataDir, safeStorage, askPassphrase, scrypt, log = () => {} }: OpenMarketKeysParameters): Promise<MarketKeys> {
  let remembered: string | null = null
  const ask = async (request: PassphraseRequest): Promise<string | null> => {
    // A first try (or a new key) takes the passphrase the other key opened with; a retry asks the user.
    if (remembered !== null && request.error === null) return remembered
    const answer = await askPassphrase(request)
    if (answer) remembered = answer
    return answer
  }
  const vault = createKeyVault({ dir: join(dataDir, 'keys'), safeStorage, askPassphrase: ask, ...(scrypt && { scrypt }) })
  const keys: Partial<MarketKeys> = {}
  for (const name of marketKeyNames) {
    if (vault.has(name)) {
      keys[name] = await vault.unseal(name)
      continue
    }
    const key = generatePrivateKey()
    const { address, sealedWith } = await vault.seal(name, key)
    log(`market: new ${name} key ${address} sealed with ${sealedWith === 'safeStorage' ? 'the OS keychain' : 'a passphrase'} in ${join(dataDir, 'keys')}`)
    keys[name] = key
  }
  log(`market: keys open (site ${privateKeyToAccount(keys.site!).address}, operator ${privateKeyToAccount(keys.operator!).address})`)
  return keys as MarketKeys
}
