import { isAbsolute, join } from 'node:path'
import type { LocalAccount } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { KeystoreError, keystorePassphraseEnv, loadKeystore } from '../chain/keystore.ts'
import type { SiteKeys, SiteLookup } from '../market/live/createLiveValidator.ts'
import { TradingError } from './TradingError.ts'

export type OpenSiteKeysParameters = {
  /** the site file's `market.site` */
  site: { id: number; ownerKeyFile: string; meterKeyFile: string }
  dataDir: string
  /** default: process.env.GRIDMESH_KEYSTORE_PASSPHRASE */
  passphrase?: string | undefined
  /** the registry (createChainSiteLookup) */
  lookupSite: SiteLookup
  market: string
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/**
 * The site's owner and meter keys from their key files, checked against the on-chain
 * registry: a key the registry does not name for this site id would sign messages every
 * receiver drops as forged, so it is refused here, naming the setting to fix.
 */
export async function openSiteKeys(p: OpenSiteKeysParameters): Promise<{ owner: LocalAccount; meter: LocalAccount; registered: SiteKeys }> {
  const passphrase = p.passphrase ?? process.env[keystorePassphraseEnv]
  if (!passphrase) throw new TradingError(`${keystorePassphraseEnv} is not set; expected the passphrase of the site's key files (market.site.ownerKeyFile, market.site.meterKeyFile)`)
  const open = async (field: 'ownerKeyFile' | 'meterKeyFile') => {
    const path = isAbsolute(p.site[field]) ? p.site[field] : join(p.dataDir, p.site[field])
    try {
      return privateKeyToAccount(await loadKeystore(path, passphrase))
    } catch (cause) {
      const why = cause instanceof KeystoreError ? cause.shortMessage : (cause as Error).message
      throw new TradingError(`site file: market.site.${field}: ${why}${(cause as { cause?: NodeJS.ErrnoException }).cause?.code === 'ENOENT' ? ' (no such file; gridmesh market keys --data DIR makes one)' : ''}`, { cause })
    }
  }
  const [owner, meter] = [await open('ownerKeyFile'), await open('meterKeyFile')]
  const registered = await p.lookupSite(p.site.id)
  if (!registered)
    throw new TradingError(`site file: market.site.id: site ${p.site.id} is not registered in market ${p.market}; expected the id the operator registered this site's keys under (owner ${owner.address}, meter ${meter.address})`)
  if (!same(registered.owner, owner.address))
    throw new TradingError(`site file: market.site.ownerKeyFile: key of ${owner.address}; market ${p.market} registers site ${p.site.id} with owner ${registered.owner} (a wrong market.site.id, or another site's key file?)`)
  if (!same(registered.meterKey, meter.address))
    throw new TradingError(`site file: market.site.meterKeyFile: key of ${meter.address}; market ${p.market} registers site ${p.site.id} with meter key ${registered.meterKey}`)
  if (!registered.active) throw new TradingError(`site file: market.site.id: site ${p.site.id} is not active in market ${p.market}; expected an active site (its bond in escrow)`)
  return { owner, meter, registered }
}
