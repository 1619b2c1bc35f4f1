import { mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { beforeAll, describe, expect, it } from 'vitest'
import { encryptKeystore, saveKeystore } from '../chain/keystore.ts'
import type { SiteKeys } from '../market/live/createLiveValidator.ts'
import { openSiteKeys } from './openSiteKeys.ts'

const passphrase = 'site passphrase'
const fast = { N: 1024, r: 8, p: 1 }
const market = `0x${'5'.repeat(40)}`

describe('openSiteKeys', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'site-keys-'))
  const ownerKey = generatePrivateKey()
  const meterKey = generatePrivateKey()
  const owner = privateKeyToAccount(ownerKey).address
  const meter = privateKeyToAccount(meterKey).address
  const site = { id: 3, ownerKeyFile: 'keys/owner.json', meterKeyFile: 'keys/meter.json' }
  const registry = (keys: SiteKeys | null) => async (id: number) => (id === 3 ? keys : null)
  beforeAll(async () => {
    mkdirSync(join(dataDir, 'keys'))
    saveKeystore(join(dataDir, 'keys/owner.json'), await encryptKeystore(ownerKey, passphrase, fast))
    saveKeystore(join(dataDir, 'keys/meter.json'), await encryptKeystore(meterKey, passphrase, fast))
  })

  it('opens both keys when the registry names them for the site', async () => {
    const keys = await openSiteKeys({ site, dataDir, passphrase, market, lookupSite: registry({ owner, meterKey: meter, active: true }) })
    expect([keys.owner.address, keys.meter.address]).toEqual([owner, meter])
  })

  it('names the setting to fix: passphrase, key file, site id, owner, meter, inactive', async () => {
    const ok = registry({ owner, meterKey: meter, active: true })
    const open = (over: Partial<Parameters<typeof openSiteKeys>[0]>) => openSiteKeys({ site, dataDir, passphrase, market, lookupSite: ok, ...over })
    await expect(open({ passphrase: '' })).rejects.toThrow('GRIDMESH_KEYSTORE_PASSPHRASE is not set')
    await expect(open({ passphrase: 'wrong' })).rejects.toThrow(/market\.site\.ownerKeyFile: .*wrong passphrase/)
    await expect(open({ site: { ...site, meterKeyFile: 'keys/none.json' } })).rejects.toThrow(/market\.site\.meterKeyFile: .*none\.json.*no such file/)
    await expect(open({ site: { ...site, id: 9 } })).rejects.toThrow(`market.site.id: site 9 is not registered in market ${market}`)
    await expect(open({ lookupSite: registry({ owner: meter, meterKey: meter, active: true }) })).rejects.toThrow(`market.site.ownerKeyFile: key of ${owner}; market ${market} registers site 3 with owner ${meter}`)
    await expect(open({ lookupSite: registry({ owner, meterKey: owner, active: true }) })).rejects.toThrow(`market.site.meterKeyFile: key of ${meter}`)
    await expect(open({ lookupSite: registry({ owner, meterKey: meter, active: false }) })).rejects.toThrow('market.site.id: site 3 is not active')
  })
})
