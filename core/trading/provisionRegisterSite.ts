// `gridmesh market register`: the operator (or an installer it appointed) registers a
// site's owner and meter keys in the market's on-chain registry, from the operator's site
// file and data folder (the market is deployed there first when it has none yet). On a
// development chain (31337) it also mints test tokens and deposits the site's bond and
// escrow; on a real chain the site's owner deposits them. Running it again for a site
// registered with the same keys only tops the escrow up (dev chain): nothing twice.
import type { Address } from 'viem'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { embeddedChainId, openChain } from '../chain/openChain.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import { siteMarketSchema } from '../site/siteMarketSchema.ts'
import { openOperatorMarket } from './openOperatorMarket.ts'
import { TradingError } from './TradingError.ts'

export type ProvisionRegisterSiteParameters = {
  /** the operator's site file */
  site: SiteFile
  /** the operator's data folder */
  dataDir: string
  /** the id the registry gives the site: the contract numbers sites from 0 in registration order */
  siteId: number
  owner: Address
  meter: Address
  /** dev chain: token units deposited beyond the bond (default 100 000 000) */
  escrowUnits?: bigint
  importCapWh?: number
  exportCapWh?: number
  passphrase?: string | undefined
  log?: (m: string) => void
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** Registers (or finds registered) one site; returns what the registry and the escrow hold for it. */
export async function provisionRegisterSite(p: ProvisionRegisterSiteParameters) {
  const log = p.log ?? (() => {})
  const settings = p.site.market ?? siteMarketSchema.parse({})
  if (same(p.owner, p.meter)) throw new TradingError(`--owner and --meter are both ${p.owner}; expected two keys (gridmesh market keys makes them)`)
  const chain = await openChain({ chain: settings.chain, dataDir: p.dataDir })
  try {
    const lm = await openOperatorMarket({ chain, settings, dataDir: p.dataDir, passphrase: p.passphrase })
    for (const note of lm.notes) log(note)
    const read = <T>(functionName: string, args: unknown[] = []) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: functionName as never, args: args as never }) as Promise<T>
    const mined = async (what: string, hash: `0x${string}`) => {
      const receipt = await lm.client.waitForTransactionReceipt({ hash })
      if (receipt.status !== 'success') throw new TradingError(`${what}: transaction ${hash} reverted`)
      return receipt
    }
    const count = Number(await read<number>('siteCount'))
    let registered = false
    if (p.siteId < count) {
      const [site, meterKey] = await read<[{ owner: Address }, Address]>('site', [p.siteId])
      if (!same(site.owner, p.owner) || !same(meterKey, p.meter))
        throw new TradingError(`--site-id ${p.siteId}: market ${lm.market} registers site ${p.siteId} with owner ${site.owner}, meter ${meterKey}; expected ${p.owner}, ${p.meter} (the next free id is ${count})`)
      log(`site ${p.siteId} is registered already (owner ${p.owner}, meter ${p.meter})`)
    } else if (p.siteId > count) {
      throw new TradingError(`--site-id ${p.siteId}: market ${lm.market} has ${count} sites and numbers them in registration order; expected --site-id ${count}`)
    } else {
      await mined(`registerSite(${p.owner}, ${p.meter})`, await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [p.owner, p.meter, p.importCapWh ?? 20_000, p.exportCapWh ?? 20_000] }))
      registered = true
      log(`site ${p.siteId} registered: owner ${p.owner}, meter ${p.meter}`)
    }
    const escrowOf = async () => (await read<bigint>('balanceOf', [p.siteId])) + (await read<bigint>('bondOf', [p.siteId]))
    let deposited = 0n
    if (chain.chainId === embeddedChainId && lm.test) {
      const want = lm.config.bond + (p.escrowUnits ?? 100_000_000n)
      const have = await escrowOf()
      if (have < want) {
        deposited = want - have
        const baseUnits = deposited * lm.config.unit
        await mined('mint test tokens', await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, baseUnits] }))
        await mined('approve', await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, baseUnits] }))
        await mined(`deposit for site ${p.siteId}`, await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [p.siteId, deposited] }))
        log(`site ${p.siteId}: ${deposited} units deposited (bond ${lm.config.bond} + escrow), minted on the dev chain`)
      }
    } else log(`chain ${chain.chainId} is not a development chain: the site's owner deposits its bond (${lm.config.bond} units) and escrow itself (deposit(${p.siteId}, amount))`)
    return { market: lm.market, token: lm.token, chainId: chain.chainId, siteId: p.siteId, owner: p.owner, meter: p.meter, registered, deposited, escrow: await escrowOf(), deployed: lm.deployed }
  } finally {
    await chain.stop()
  }
}
