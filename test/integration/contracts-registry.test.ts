// The hot registry of EnergyMarket on anvil: one 32-byte word per site kept as the code of
// a data contract the market creates (see EnergyMarket._registry). Every registry change
// writes a new blob, and the next commit reads it; ids without a word are refused by name.
import { getAddress, hexToBigInt, keccak256, toHex, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { packSiteRef } from '../../core/market/encodeClearing.ts'
import { signOrder } from '../../core/market/signMarketData.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { clear, commit, revertName, signOrders, type OrderSpec } from '../fixtures/market/marketFlow.ts'

let anvil: Anvil
let lm: LocalMarket
const capWh = 20_000

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 4, importCapWh: capWh, exportCapWh: capWh, config: { ringSize: 256n } })
})

afterAll(async () => {
  await anvil?.stop()
})

const specs = (seller: number, buyer: number): OrderSpec[] => [
  { site: seller, side: SIDE_ASK, energyWh: 1000, limitPrice: 90_000n },
  { site: buyer, side: SIDE_BID, energyWh: 1000, limitPrice: 150_000n },
]

async function freshInterval(): Promise<bigint> {
  const next = await lm.nextInterval()
  await lm.warpTo(lm.intervalStart(next))
  return next + 1n
}

async function commitBetween(seller: number, buyer: number) {
  const interval = await freshInterval()
  return commit(lm, clear(interval, await signOrders(lm, interval, specs(seller, buyer))))
}

const mined = async (hash: Hex) => expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')

/** The blob's address: siteCount (32 bits) and the registry pointer share storage slot 2 (EIP712 keeps two strings in 0 and 1). */
async function registryAddress(): Promise<Address> {
  const slot2 = await lm.client.getStorageAt({ address: lm.market, slot: toHex(2, { size: 32 }) })
  return getAddress(toHex((hexToBigInt(slot2!) >> 32n) & ((1n << 160n) - 1n), { size: 20 }))
}

const tag = (a: Address) => hexToBigInt(keccak256(a)) & ((1n << 96n) - 1n)

describe('registry blob', () => {
  it('is a STOP byte and then one word per site: owner tag | meter tag | caps | active | bonded', async () => {
    const code = await lm.client.getCode({ address: await registryAddress() })
    const words = lm.sites.map((s) => toHex(tag(s.owner.address) | (tag(s.meter.address) << 96n) | (BigInt(capWh) << 192n) | (BigInt(capWh) << 220n) | (3n << 248n), { size: 32 }).slice(2))
    expect(code).toBe(`0x00${words.join('')}`)
  })

  it('a registration, a key rotation and leaving or rejoining each take effect for the next commit', async () => {
    // register site 4 and fund it: it can trade at once
    const owner = privateKeyToAccount(generatePrivateKey())
    const meter = privateKeyToAccount(generatePrivateKey())
    const before = await registryAddress()
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [owner.address, meter.address, capWh, capWh] }))
    expect(await registryAddress()).not.toBe(before)
    lm.sites.push({ siteId: 4, owner, meter })
    const amount = 100_000_000n
    await mined(await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, amount] }))
    await mined(await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, amount] }))
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [4, amount] }))
    const withNew = await commitBetween(0, 4)
    expect(withNew.siteRefs).toEqual([packSiteRef(0, lm.sites[0]!.meter.address, withNew.clearing.orders[0]!), packSiteRef(4, meter.address, withNew.clearing.orders[1]!)])

    // rotate site 1's meter key: the next commit snapshots the new key's tag (committedSiteRefs
    // checks the refs against the hash the contract computed from the blob)
    const newMeter = privateKeyToAccount(generatePrivateKey())
    const site1 = lm.walletFor(lm.sites[1]!.owner)
    // the owner proposes, the operator co-signs
    await mined(await site1.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [1, newMeter.address] }))
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'rotateMeterKey', args: [1, newMeter.address] }))
    lm.sites[1]!.meter = newMeter
    const rotated = await commitBetween(1, 2)
    expect(rotated.siteRefs[0]).toBe(packSiteRef(1, newMeter.address, rotated.clearing.orders[0]!))

    // the operator deactivates site 1 (at once; an owner's leave waits the commit delay):
    // refused by name; the operator re-admits it: accepted again
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'setActive', args: [1, false] }))
    expect(await revertName(commitBetween(1, 2))).toBe('SiteInactive')
    // the other sites' words were copied into the new blob unchanged
    await commitBetween(0, 3)
    await mined(await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'setActive', args: [1, true] }))
    await commitBetween(1, 2)
  })

  it('an order of an id without a word (never registered, past the blob, past MAX_SITES) reverts with UnknownSite', async () => {
    const count = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'siteCount' })
    for (const siteId of [count, 63, 64, 1000]) {
      const interval = await freshInterval()
      const clearing = clear(interval, await signOrders(lm, interval, specs(0, 2)))
      // the buyer's order (position 1) replaced by one for `siteId`, still sorted by id
      const stranger = await signOrder(privateKeyToAccount(generatePrivateKey()), lm.domain, { ...clearing.orders[1]!, siteId })
      expect(await revertName(commit(lm, { ...clearing, orders: [clearing.orders[0]!, stranger] }))).toBe('UnknownSite')
    }
  })
})
