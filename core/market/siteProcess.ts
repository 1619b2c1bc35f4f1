// One demo site as its own process: its own owner and meter keys, sealed in scrypt key
// files in its key directory and opened with the passphrase from its environment (never
// sent anywhere), a simulated plan and meter, orders built from the plan, and its own
// recomputation of every clearing. Talks JSON lines on stdin/stdout with the demo
// coordinator; only addresses leave the process.
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { encryptKeystore, loadKeystore, saveKeystore } from '../chain/keystore.ts'
import { buildOrder } from './buildOrder.ts'
import { clearAuction, type Clearing } from './clearAuction.ts'
import { fromJsonLine, toJsonLine } from './jsonLines.ts'
import { signMeterReading, signOrder, type SignedOrder } from './signMarketData.ts'
import type { MarketDomain } from './typedData.ts'

export type SiteRequest =
  | {
      type: 'hello'
      siteId: number
      sites: number
      seed: number
      domain: MarketDomain
      importCapWh: number
      exportCapWh: number
      /** where the site's key files live (created sealed on first start) */
      keyDir: string
    }
  | { type: 'order'; interval: bigint; deadline: bigint }
  | { type: 'clearing'; orders: SignedOrder[]; clearing: Clearing }
  | { type: 'reading'; interval: bigint }
  | { type: 'bye' }

/** The plan's grid energy of `siteId` in `interval` (> 0 import): phase-shifted so roles rotate. */
export function demoPlanWh(siteId: number, sites: number, interval: bigint): number {
  const phase = Number(interval % 8n) / 8 + siteId / sites
  return Math.round(1500 * Math.sin(2 * Math.PI * phase) + 150 * (siteId - 1))
}

/** The metered grid energy: the plan off by up to +-15 %, deterministic per seed, site and interval. */
export function demoMeterWh(siteId: number, sites: number, interval: bigint, seed: number): number {
  let x = (seed * 2654435761 + siteId * 40503 + Number(interval % 100000n) * 97) >>> 0
  x ^= x << 13
  x ^= x >>> 17
  x ^= x << 5
  const noise = ((x >>> 0) / 0xffffffff) * 0.3 - 0.15
  return Math.round(demoPlanWh(siteId, sites, interval) * (1 + noise))
}

/** The environment variable a site process reads its keystore passphrase from. */
export const passphraseEnv = 'GRIDMESH_KEYSTORE_PASSPHRASE'

/** Opens `<keyDir>/<name>.json`; seals a new key there first when there is none. */
async function openKey(keyDir: string, name: string, passphrase: string): Promise<PrivateKeyAccount> {
  const path = join(keyDir, `${name}.json`)
  if (!existsSync(path)) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 })
    saveKeystore(path, await encryptKeystore(generatePrivateKey(), passphrase))
  }
  return privateKeyToAccount(await loadKeystore(path, passphrase))
}

async function main() {
  const passphrase = process.env[passphraseEnv]
  if (!passphrase) throw new Error(`siteProcess: ${passphraseEnv} is not set; expected the passphrase of the site's key files`)
  let owner: PrivateKeyAccount | undefined
  let meter: PrivateKeyAccount | undefined
  let hello: Extract<SiteRequest, { type: 'hello' }> | undefined
  const send = (msg: unknown) => process.stdout.write(toJsonLine(msg))
  for await (const line of createInterface({ input: process.stdin })) {
    const req = fromJsonLine<SiteRequest>(line)
    if (req.type === 'hello') {
      hello = req
      ;[owner, meter] = await Promise.all([openKey(req.keyDir, 'owner', passphrase), openKey(req.keyDir, 'meter', passphrase)])
      send({ type: 'keys', owner: owner.address, meter: meter.address })
    } else if (req.type === 'order') {
      const h = hello!
      const order = buildOrder({
        siteId: h.siteId,
        interval: req.interval,
        netImportWh: demoPlanWh(h.siteId, h.sites, req.interval),
        limits: { minSellPrice: BigInt(60_000 + 10_000 * h.siteId), maxBuyPrice: BigInt(250_000 - 20_000 * h.siteId), minOrderWh: 50 },
        importCapWh: h.importCapWh,
        exportCapWh: h.exportCapWh,
        deadline: req.deadline,
      })
      send({ type: 'order', order: order && (await signOrder(owner!, h.domain, order)) })
    } else if (req.type === 'clearing') {
      const mine = clearAuction(req.clearing.interval, req.orders)
      send({ type: 'ack', agrees: toJsonLine(mine) === toJsonLine(req.clearing) })
    } else if (req.type === 'reading') {
      const h = hello!
      const net = demoMeterWh(h.siteId, h.sites, req.interval, h.seed)
      const reading = { siteId: h.siteId, interval: req.interval, importWh: Math.max(net, 0), exportWh: Math.max(-net, 0) }
      send({ type: 'reading', reading: await signMeterReading(meter!, h.domain, reading) })
    } else {
      break
    }
  }
}

if (process.argv[1]?.endsWith('siteProcess.ts')) await main()
