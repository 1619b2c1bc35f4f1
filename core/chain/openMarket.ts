// The site's market on its chain, deployed once: the first start deploys token and market
// and records them in <data>/chain/market.json; every later start checks the record
// against the chain and reuses it. A record that does not match the chain is reported and
// never overwritten, since it is the only pointer to the escrowed balances.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  defineChain,
  http,
  publicActions,
  type Address,
  type LocalAccount,
  type PublicClient,
} from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { z } from 'zod'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import type { SiteMarket } from '../site/siteMarketSchema.ts'
import { BaseError } from '../errors/BaseError.ts'
import { createMarketDomain, type MarketDomain } from '../market/typedData.ts'
import { deployMarket, minRingSize, type MarketConfig } from './deployMarket.ts'
import { encryptKeystore, keystorePassphraseEnv, loadKeystore, saveKeystore } from './keystore.ts'
import { embeddedChainId, type OpenedChain } from './openChain.ts'
import { redactRpcUrl } from './redactRpcUrl.ts'

export { keystorePassphraseEnv }

/** The operator key cannot be opened or created: no passphrase, or a key file missing where a market exists. */
export class OperatorKeyError extends BaseError {
  override name = 'OperatorKeyError' as const
}

/** The operator has no ETH for the deployment on a chain GridMesh cannot fund. */
export class OperatorUnfundedError extends BaseError {
  override name = 'OperatorUnfundedError' as const
}

/** market.json is unreadable or does not match the chain; the file is left untouched. */
export class MarketRecordError extends BaseError {
  override name = 'MarketRecordError' as const
}

/** The site file's settlement token is missing on a real chain, or is not an ERC-20 there. */
export class SettlementTokenError extends BaseError {
  override name = 'SettlementTokenError' as const
}

/** Deploying the market on first start failed; nothing was recorded. */
export class MarketDeployError extends BaseError {
  override name = 'MarketDeployError' as const
}

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'an address 0x + 40 hex digits') as unknown as z.ZodType<Address>
const uint = z.string().regex(/^\d+$/, 'a decimal integer')

const marketRecordSchema = z.strictObject({
  version: z.literal(1),
  chainId: z.number().int().positive(),
  /** embedded anvil, or an endpoint named in the site file (URL without credentials) */
  chain: z.union([z.literal('embedded'), z.strictObject({ rpcUrl: z.string() })]),
  market: address,
  token: address,
  operator: address,
  deployedAtBlock: uint,
  deployedAt: z.string(),
  config: z.strictObject({
    unit: uint,
    genesis: uint,
    intervalSec: uint,
    settleWindowSec: uint,
    disputeWindowSec: uint,
    penaltyBps: uint,
    bond: uint,
    ringSize: uint,
  }),
})
export type MarketRecord = z.infer<typeof marketRecordSchema>

export type OpenMarketParameters = {
  chain: OpenedChain
  /** the site file's `market` section (defaults applied) */
  settings: SiteMarket
  dataDir: string
  /** default: process.env.GRIDMESH_KEYSTORE_PASSPHRASE */
  passphrase?: string | undefined
  /** ETH given to the operator on a dev chain when it has less than 1 */
  devFundingWei?: bigint
}

const ether = 10n ** 18n

/**
 * The settlement token a first deployment uses: the site file's `market.settlementToken`, checked to be an ERC-20
 * on this chain; undefined (deploy the operator-mintable test token) only on a local development chain.
 */
async function settlementTokenFor(settings: SiteMarket, chainId: number, where: string, client: PublicClient): Promise<Address | undefined> {
  const token = settings.settlementToken as Address | undefined
  if (token === undefined) {
    if (chainId === embeddedChainId) return undefined
    throw new SettlementTokenError(
      `site file: market.settlementToken: missing; ${where} is not a local development chain (chain id ${embeddedChainId}), so GridMesh will not deploy its operator-mintable test token there; expected the address of the existing ERC-20 the market settles in`,
    )
  }
  const code = await client.getCode({ address: token })
  if (!code || code === '0x') throw new SettlementTokenError(`site file: market.settlementToken: ${token} has no code on ${where}; expected an ERC-20 contract`)
  for (const functionName of ['decimals', 'totalSupply'] as const) {
    try {
      await client.readContract({ address: token, abi: settlementTokenAbi, functionName })
    } catch (cause) {
      throw new SettlementTokenError(`site file: market.settlementToken: ${token} on ${where} does not answer ${functionName}(); expected an ERC-20 contract`, { cause })
    }
  }
  return token
}

function readRecord(path: string): MarketRecord {
  const keep = `${path} is left as it is. If this data folder should start a new market, move the file away and start again; the old market's escrow stays where the file points.`
  let json: unknown
  try {
    json = JSON.parse(readFileSync(path, 'utf8'))
  } catch (cause) {
    throw new MarketRecordError(`${path}: cannot read the market record as JSON; expected the file GridMesh wrote when it deployed the market`, {
      cause,
      metaMessages: [keep],
    })
  }
  const parsed = marketRecordSchema.safeParse(json)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    throw new MarketRecordError(`${path}: ${issue.path.join('.') || '(top level)'}: ${issue.message}; expected the file GridMesh wrote when it deployed the market`, {
      metaMessages: [keep],
    })
  }
  return parsed.data
}

function writeRecord(path: string, record: MarketRecord): void {
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(record, null, 2) + '\n')
  renameSync(tmp, path)
}

/** The recorded market is on this chain: same chain id and kind, code at both addresses, the immutables as recorded. */
async function checkRecord(record: MarketRecord, recordPath: string, opened: OpenedChain, client: PublicClient): Promise<void> {
  const where = `chain ${opened.chainId} at ${redactRpcUrl(opened.rpcUrl)}`
  const keep = `${recordPath} is left as it is. To deploy a new market on this chain, move it away and start again (the recorded market's escrow is not on this chain).`
  const recordedOn = record.chain === 'embedded' ? 'the embedded chain' : record.chain.rpcUrl
  const nowOn = opened.embedded ? 'the embedded chain' : redactRpcUrl(opened.rpcUrl)
  if (record.chainId !== opened.chainId || (record.chain === 'embedded') !== opened.embedded)
    throw new MarketRecordError(`${recordPath}: market ${record.market} is on chain ${record.chainId} (${recordedOn}); the site file now names ${where} (${nowOn})`, {
      metaMessages: [keep],
    })
  for (const [what, at] of [
    ['market', record.market],
    ['token', record.token],
  ] as const) {
    const code = await client.getCode({ address: at })
    if (!code || code === '0x')
      throw new MarketRecordError(
        `${recordPath}: ${what} ${at} (deployed at block ${record.deployedAtBlock}) has no code on ${where}; expected the recorded contract` +
          (opened.embedded ? ` (was ${opened.statePath ?? 'the chain state'} lost or replaced?)` : ''),
        { metaMessages: [keep] },
      )
  }
  const onChain = {
    operator: await client.readContract({ address: record.market, abi: energyMarketAbi, functionName: 'operator' }),
    token: await client.readContract({ address: record.market, abi: energyMarketAbi, functionName: 'token' }),
    genesis: await client.readContract({ address: record.market, abi: energyMarketAbi, functionName: 'genesis' }),
    intervalSec: await client.readContract({ address: record.market, abi: energyMarketAbi, functionName: 'intervalSec' }),
  }
  const recorded = { operator: record.operator, token: record.token, genesis: BigInt(record.config.genesis), intervalSec: BigInt(record.config.intervalSec) }
  for (const key of ['operator', 'token', 'genesis', 'intervalSec'] as const) {
    const a = onChain[key]
    const b = recorded[key]
    const same = typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b
    if (!same)
      throw new MarketRecordError(`${recordPath}: market ${record.market} on ${where} has ${key} ${String(a)}; the record says ${String(b)}`, { metaMessages: [keep] })
  }
}

/**
 * Opens the site's market on `chain`: reuses the one recorded in `<dataDir>/chain/market.json`
 * after checking it against the chain, or deploys token and market on first start.
 */
export async function openMarket({ chain: opened, settings, dataDir, passphrase = process.env[keystorePassphraseEnv], devFundingWei = 1000n * ether }: OpenMarketParameters) {
  const recordPath = join(dataDir, 'chain', 'market.json')
  const keyPath = resolve(dataDir, settings.operatorKeyFile)
  const where = `chain ${opened.chainId} at ${redactRpcUrl(opened.rpcUrl)}`
  if (!passphrase)
    throw new OperatorKeyError(`${keystorePassphraseEnv} is not set; expected the passphrase of the operator key ${keyPath}`, {
      metaMessages: ['On the first start it seals a new key; later it must be the same passphrase.'],
    })

  const chain = defineChain({
    id: opened.chainId,
    name: opened.embedded ? 'embedded' : 'site',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [opened.rpcUrl] } },
  })
  const transport = http(opened.rpcUrl)
  const client = createPublicClient({ chain, transport, pollingInterval: 50 })
  // anvil's test methods: the embedded chain always, an endpoint when it is anvil
  // an endpoint without web3_clientVersion is taken for a production node: no test methods
  const clientVersion = opened.embedded ? 'anvil' : await client.request({ method: 'web3_clientVersion' }).catch(() => '')
  const dev = clientVersion.toLowerCase().startsWith('anvil')
  const test = dev ? createTestClient({ chain, transport, mode: 'anvil' }) : undefined

  const existing = existsSync(recordPath) ? readRecord(recordPath) : undefined
  let operatorKey: `0x${string}`
  const notes: string[] = []
  if (existsSync(keyPath)) operatorKey = await loadKeystore(keyPath, passphrase)
  else if (existing)
    throw new OperatorKeyError(`${keyPath}: no operator key; ${recordPath} names operator ${existing.operator}, and only its key can run that market`, {
      metaMessages: [`Put that key file back (market.operatorKeyFile in the site file says where it is looked for).`],
    })
  else {
    operatorKey = generatePrivateKey()
    mkdirSync(dirname(keyPath), { recursive: true, mode: 0o700 })
    saveKeystore(keyPath, await encryptKeystore(operatorKey, passphrase))
    notes.push(`new operator key ${privateKeyToAccount(operatorKey).address} sealed in ${keyPath}`)
  }
  const operator: LocalAccount = privateKeyToAccount(operatorKey)
  const wallet = createWalletClient({ chain, transport, account: operator, pollingInterval: 50 }).extend(publicActions)

  /** Tops the operator up on a dev chain (a long-lived embedded chain spends it on gas); returns the balance. */
  const fundOnDevChain = async () => {
    const balance = await client.getBalance({ address: operator.address })
    if (balance >= ether || !test) return balance
    await test.setBalance({ address: operator.address, value: devFundingWei })
    notes.push(`operator ${operator.address} funded with ${devFundingWei / ether} ETH by anvil_setBalance on ${where}`)
    return devFundingWei
  }

  let record: MarketRecord
  let deployed: boolean
  if (existing) {
    record = existing
    deployed = false
    await checkRecord(record, recordPath, opened, client)
    if (settings.settlementToken !== undefined && settings.settlementToken.toLowerCase() !== record.token.toLowerCase())
      throw new MarketRecordError(`${recordPath}: market ${record.market} settles in token ${record.token}; the site file's market.settlementToken is ${settings.settlementToken}`, {
        metaMessages: [`A deployed market keeps its token. Name ${record.token} in the site file, or move ${recordPath} away to deploy a new market.`],
      })
    if (operator.address.toLowerCase() !== record.operator.toLowerCase())
      throw new OperatorKeyError(`${keyPath}: key of ${operator.address}; ${recordPath} names operator ${record.operator}`, {
        metaMessages: [`Use the key file of ${record.operator} (market.operatorKeyFile in the site file).`],
      })
    notes.push(`market ${record.market} (token ${record.token}) from ${recordPath} reused on ${where}, deployed at block ${record.deployedAtBlock}`)
    await fundOnDevChain()
  } else {
    if ((await fundOnDevChain()) === 0n)
      throw new OperatorUnfundedError(`operator ${operator.address} has 0 ETH on ${where}; fund it`, {
        metaMessages: [`The key is in ${keyPath}; nothing was deployed yet.`],
      })
    const token = await settlementTokenFor(settings, opened.chainId, where, client)
    const latest = await client.getBlock()
    const windows = { intervalSec: BigInt(settings.intervalSec), settleWindowSec: BigInt(settings.settleWindowSec), disputeWindowSec: BigInt(settings.disputeWindowSec) }
    const config: MarketConfig = {
      unit: BigInt(settings.unit),
      operator: operator.address,
      genesis: latest.timestamp,
      ...windows,
      penaltyBps: BigInt(settings.penaltyBps),
      bond: BigInt(settings.bond),
      ringSize: minRingSize(windows),
    }
    let result
    try {
      result = await deployMarket({ wallet, client, config, token })
    } catch (cause) {
      throw new MarketDeployError(`deploying the market on ${where} from ${operator.address} failed; nothing was recorded in ${recordPath}`, { cause })
    }
    record = {
      version: 1,
      chainId: opened.chainId,
      chain: opened.embedded ? 'embedded' : { rpcUrl: redactRpcUrl(opened.rpcUrl) },
      market: result.market,
      token: result.token,
      operator: operator.address,
      deployedAtBlock: result.deployBlock.toString(),
      deployedAt: new Date().toISOString(),
      config: Object.fromEntries(
        (['unit', 'genesis', 'intervalSec', 'settleWindowSec', 'disputeWindowSec', 'penaltyBps', 'bond', 'ringSize'] as const).map((k) => [k, config[k].toString()]),
      ) as MarketRecord['config'],
    }
    mkdirSync(dirname(recordPath), { recursive: true })
    writeRecord(recordPath, record)
    deployed = true
    notes.push(`market ${record.market} (token ${record.token}) deployed on ${where} at block ${record.deployedAtBlock}; recorded in ${recordPath}`)
  }

  const config: MarketConfig = {
    unit: BigInt(record.config.unit),
    operator: record.operator,
    genesis: BigInt(record.config.genesis),
    intervalSec: BigInt(record.config.intervalSec),
    settleWindowSec: BigInt(record.config.settleWindowSec),
    disputeWindowSec: BigInt(record.config.disputeWindowSec),
    penaltyBps: BigInt(record.config.penaltyBps),
    bond: BigInt(record.config.bond),
    ringSize: BigInt(record.config.ringSize),
  }
  const domain: MarketDomain = createMarketDomain(opened.chainId, record.market)
  /** Start of `interval` in chain seconds. */
  const intervalStart = (interval: bigint) => config.genesis + interval * config.intervalSec
  /** The next interval that can still be committed at the chain's current time. */
  const nextInterval = async () => {
    const { timestamp } = await client.getBlock()
    return (timestamp - config.genesis) / config.intervalSec + 1n
  }
  /** Dev chains only: moves chain time so the next block is at `timestamp`. */
  const warpTo = test
    ? async (timestamp: bigint) => {
        await test.setNextBlockTimestamp({ timestamp })
        await test.mine({ blocks: 1 })
      }
    : undefined
  const walletFor = (account: LocalAccount) => createWalletClient({ chain, transport, account, pollingInterval: 50 }).extend(publicActions)
  return {
    chain,
    client,
    test,
    wallet,
    walletFor,
    operator,
    market: record.market,
    token: record.token,
    domain,
    config,
    intervalStart,
    nextInterval,
    warpTo,
    /** true when this call deployed the market (first start) */
    deployed,
    deployBlock: BigInt(record.deployedAtBlock),
    record,
    recordPath,
    notes,
  }
}

export type OpenedMarket = Awaited<ReturnType<typeof openMarket>>
