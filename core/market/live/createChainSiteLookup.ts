import { BaseError as ViemBaseError, ContractFunctionRevertedError, type Address, type PublicClient } from 'viem'
import { energyMarketAbi } from '../../../contracts/abi.ts'
import type { SiteKeys, SiteLookup } from './createLiveValidator.ts'

export type CreateChainSiteLookupParameters = {
  client: Pick<PublicClient, 'readContract'>
  market: Address
  /** how long a site's keys are reused before the registry is read again (a rotation needs the operator's co-signature, so it is rare) */
  cacheMs?: number
  /** read the registry at this block (default: the latest) */
  blockNumber?: bigint
  now?: () => number
}

/** The validator's registry lookup on the chain: the contract's `site(siteId)`, null for an UnknownSite revert; other errors propagate (the message is then unverified, not forged). */
export function createChainSiteLookup({ client, market, cacheMs = 15_000, blockNumber, now = Date.now }: CreateChainSiteLookupParameters): SiteLookup {
  const cache = new Map<number, { atMs: number; keys: SiteKeys | null }>()
  return async (siteId) => {
    const hit = cache.get(siteId)
    if (hit && now() - hit.atMs < cacheMs) return hit.keys
    let keys: SiteKeys | null
    try {
      const [site, meterKey] = await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'site', args: [siteId], ...(blockNumber === undefined ? {} : { blockNumber }) })
      keys = { owner: site.owner, meterKey, active: site.active }
    } catch (error) {
      const reverted = error instanceof ViemBaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : null
      if (!(reverted instanceof ContractFunctionRevertedError) || reverted.data?.errorName !== 'UnknownSite') throw error
      keys = null
    }
    cache.set(siteId, { atMs: now(), keys })
    return keys
  }
}
