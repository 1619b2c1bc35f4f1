// Issue 14, item 9: on a real chain (any chain id but anvil's 31337) openMarket settles in the
// existing token the site file names and never deploys GridMesh's operator-mintable test
// token; a missing or unusable token address is reported by name and nothing is recorded.
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestClient, createWalletClient, defineChain, http, publicActions, type Address } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { compileContracts } from '../../contracts/compile.ts'
import { encryptKeystore, saveKeystore } from '../../core/chain/keystore.ts'
import { openChain } from '../../core/chain/openChain.ts'
import { MarketRecordError, openMarket, SettlementTokenError } from '../../core/chain/openMarket.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { siteMarketSchema } from '../../core/site/siteMarketSchema.ts'

const passphrase = 'market token test'
let anvil: Anvil
/** the chain's "existing" stable token, deployed by someone else (its own minter) */
let token: Address
let mintTo: (to: Address, amount: bigint) => Promise<void>

beforeAll(async () => {
  anvil = await startAnvil({ chainId: 4242 })
  const chain = defineChain({ id: 4242, name: 'real', nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 }, rpcUrls: { default: { http: [anvil.rpcUrl] } } })
  const issuer = privateKeyToAccount(generatePrivateKey())
  await createTestClient({ chain, transport: http(anvil.rpcUrl), mode: 'anvil' }).setBalance({ address: issuer.address, value: 10n ** 18n })
  const wallet = createWalletClient({ chain, transport: http(anvil.rpcUrl), account: issuer, pollingInterval: 50 }).extend(publicActions)
  const hash = await wallet.deployContract({ abi: settlementTokenAbi, bytecode: compileContracts().artifacts.SettlementToken.bytecode, args: ['Real Euro', 'rEUR'] })
  token = (await wallet.waitForTransactionReceipt({ hash })).contractAddress!
  mintTo = async (to, amount) => {
    await wallet.waitForTransactionReceipt({ hash: await wallet.writeContract({ address: token, abi: settlementTokenAbi, functionName: 'mint', args: [to, amount] }) })
  }
}, 60_000)

afterAll(async () => {
  await anvil?.stop()
})

/** A data folder whose operator key is already sealed (so the operator can hold the token before the first start). */
async function dataWithOperator() {
  const data = mkdtempSync(join(tmpdir(), 'gm-token-data-'))
  const key = generatePrivateKey()
  mkdirSync(join(data, 'keys'), { recursive: true, mode: 0o700 })
  saveKeystore(join(data, 'keys', 'operator.json'), await encryptKeystore(key, passphrase, { N: 1024, r: 8, p: 1 }))
  return { data, operator: privateKeyToAccount(key).address }
}

const settingsFor = (extra: Record<string, unknown>) => siteMarketSchema.parse({ chain: { rpcUrl: anvil.rpcUrl, chainId: 4242 }, ...extra })

describe('the settlement token on a real chain', () => {
  it('without market.settlementToken nothing is deployed: the error names the field and the chain', async () => {
    const { data } = await dataWithOperator()
    const settings = settingsFor({})
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    // before the fix openMarket deployed the operator-mintable test token here
    const error = await openMarket({ chain, settings, dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(SettlementTokenError)
    expect((error as Error).message).toMatch(/^site file: market\.settlementToken: missing; chain 4242 at http:\/\/127\.0\.0\.1:\d+ is not a local development chain \(chain id 31337\)/)
    expect(existsSync(join(data, 'chain', 'market.json'))).toBe(false)
  }, 60_000)

  it('an address without code, or a contract that is not an ERC-20, is refused by name', async () => {
    const { data } = await dataWithOperator()
    const nobody = privateKeyToAccount(generatePrivateKey()).address
    const chain = await openChain({ chain: { rpcUrl: anvil.rpcUrl, chainId: 4242 }, dataDir: data })
    const empty = await openMarket({ chain, settings: settingsFor({ settlementToken: nobody }), dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(empty).toBeInstanceOf(SettlementTokenError)
    expect((empty as Error).message).toContain(`site file: market.settlementToken: ${nobody} has no code on chain 4242`)
    // code that answers nothing (a lone STOP)
    await createTestClient({ transport: http(anvil.rpcUrl), mode: 'anvil' }).setCode({ address: nobody, bytecode: '0x00' })
    const notErc20 = await openMarket({ chain, settings: settingsFor({ settlementToken: nobody }), dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(notErc20).toBeInstanceOf(SettlementTokenError)
    expect((notErc20 as Error).message).toContain(`${nobody} on chain 4242 at`)
    expect((notErc20 as Error).message).toContain('does not answer decimals(); expected an ERC-20 contract')
    expect(existsSync(join(data, 'chain', 'market.json'))).toBe(false)
    // a malformed address never gets that far
    const parsed = siteMarketSchema.safeParse({ settlementToken: '0x1234' })
    expect(parsed.success).toBe(false)
    expect(parsed.error?.issues[0]?.path).toEqual(['settlementToken'])
    expect(parsed.error?.issues[0]?.message).toBe("expected the settlement token's address, 0x and 40 hex digits")
  }, 60_000)

  it('with the existing token named, the market settles in it; a later start naming another token is refused', async () => {
    const { data, operator } = await dataWithOperator()
    await mintTo(operator, 10n ** 12n) // whatever the deployment needs of the operator (its bond)
    const settings = settingsFor({ settlementToken: token })
    const chain = await openChain({ chain: settings.chain, dataDir: data })
    const m = await openMarket({ chain, settings, dataDir: data, passphrase })
    expect(m.deployed).toBe(true)
    expect(m.token.toLowerCase()).toBe(token.toLowerCase())
    expect((await m.client.readContract({ address: m.market, abi: energyMarketAbi, functionName: 'token' })).toLowerCase()).toBe(token.toLowerCase())
    const other = privateKeyToAccount(generatePrivateKey()).address
    const error = await openMarket({ chain, settings: settingsFor({ settlementToken: other }), dataDir: data, passphrase }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(MarketRecordError)
    expect((error as Error).message).toContain(`settles in token ${token}; the site file's market.settlementToken is ${other}`)
    expect((await openMarket({ chain, settings, dataDir: data, passphrase })).deployed).toBe(false)
  }, 60_000)
})
