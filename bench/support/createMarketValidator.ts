import { createChainSiteLookup } from '../../core/market/live/createChainSiteLookup.ts'
import { createLiveValidator } from '../../core/market/live/createLiveValidator.ts'
import type { MarketTopics } from '../../core/market/live/marketTopics.ts'
import type { OpenedMarket } from '../../core/chain/openMarket.ts'

/** A node's validator of the live market `lm`: the registry read from the contract, readings taken until the settle window ends, time on the bench's chain clock. */
export function createMarketValidator(lm: Pick<OpenedMarket, 'client' | 'market' | 'domain' | 'operator' | 'intervalStart' | 'config'>, topics: MarketTopics, nowS: () => bigint) {
  return createLiveValidator({
    domain: lm.domain,
    topics,
    operator: lm.operator.address,
    lookupSite: createChainSiteLookup({ client: lm.client, market: lm.market }),
    readingDeadline: (i) => lm.intervalStart(i + 1n) + lm.config.settleWindowSec,
    nowS,
  })
}
