// The operator's market: openMarket's record in <data>/chain/market.json (deployed on the
// first start when the site file names no market.address), checked against the site
// file's market.address when it names one.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createPublicClient, http, type Address } from 'viem'
import { openMarket } from '../chain/openMarket.ts'
import type { OpenedChain } from '../chain/openChain.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import type { SiteMarket } from '../site/siteMarketSchema.ts'
import { TradingError } from './TradingError.ts'

export type OpenOperatorMarketParameters = { chain: OpenedChain; settings: SiteMarket; dataDir: string; passphrase?: string | undefined }

/** Opens (or on first start deploys) the market this data folder runs as operator. */
export async function openOperatorMarket({ chain, settings, dataDir, passphrase }: OpenOperatorMarketParameters) {
  const recordPath = join(dataDir, 'chain', 'market.json')
  const where = `chain ${chain.chainId} at ${redactRpcUrl(chain.rpcUrl)}`
  const named = settings.address as Address | undefined
  if (named && !existsSync(recordPath)) {
    const client = createPublicClient({ transport: http(chain.rpcUrl) })
    const code = await client.getCode({ address: named })
    if (!code || code === '0x') throw new TradingError(`site file: market.address: ${named} has no contract on ${where}; expected the community's deployed market (omit market.address to deploy one on the operator's first start)`)
    throw new TradingError(`site file: market.address: ${named}: ${recordPath} is missing; the operator runs a market from the data folder that deployed it (its market.json and operator key)`, {
      metaMessages: ['Start the operator with the --data folder that deployed the market, or omit market.address to deploy a new one.'],
    })
  }
  if (named && existsSync(recordPath)) {
    const recorded = (JSON.parse(readFileSync(recordPath, 'utf8')) as { market?: string }).market
    if (recorded?.toLowerCase() !== named.toLowerCase())
      throw new TradingError(`site file: market.address: ${named}; ${recordPath} records market ${recorded ?? '(none)'}, which this data folder's operator key runs`, {
        metaMessages: [`Name ${recorded ?? 'the recorded market'} in market.address, or use the data folder that deployed ${named}.`],
      })
  }
  return openMarket({ chain, settings, dataDir, ...(passphrase === undefined ? {} : { passphrase }) })
}
