// The chain and the TypeScript model agree: random order books cleared by clearAuction,
// committed, delivered with random meter readings, settled and finalized on anvil lock and
// then move exactly the balances computeSettlement predicts, and the escrow still holds
// every token.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization } from '../../core/chain/buildFinalization.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { finalizeInterval } from '../../core/chain/finalizeInterval.ts'
import { settleInterval } from '../../core/chain/settleInterval.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { clearAuction } from '../../core/market/clearAuction.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, signOrders, signReadings, unpackMatches, type OrderSpec } from '../fixtures/market/marketFlow.ts'

const sites = 12
let anvil: Anvil
let lm: LocalMarket

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites, importCapWh: 20_000, exportCapWh: 20_000 })
})

afterAll(async () => {
  await anvil?.stop()
})

const allBalances = () =>
  Promise.all(
    Array.from({ length: sites }, (_, id) =>
      lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [id] }),
    ),
  )

const book = fc
  .uniqueArray(
    fc.record({
      site: fc.integer({ min: 0, max: sites - 1 }),
      side: fc.constantFrom(SIDE_BID, SIDE_ASK),
      energyWh: fc.integer({ min: 1, max: 20_000 }),
      limitPrice: fc.integer({ min: 50, max: 250 }).map((x) => BigInt(x * 1000)),
    }),
    { selector: (o) => o.site, minLength: 2, maxLength: sites },
  )
  .filter((os) => clearAuction(0n, os.map((o) => ({ ...o, siteId: o.site, interval: 0n, deadline: 0n }))).matches.length > 0)

const meter = fc.array(
  fc.record({ importWh: fc.integer({ min: 0, max: 22_000 }), exportWh: fc.integer({ min: 0, max: 22_000 }) }),
  { minLength: sites, maxLength: sites },
)

it('settles random order books and deliveries exactly as the TypeScript model', async () => {
  await fc.assert(
    fc.asyncProperty(book, meter, async (specs: OrderSpec[], readingsBySite) => {
      const next = await lm.nextInterval()
      await lm.warpTo(lm.intervalStart(next))
      const interval = next + 1n
      const clearing = clear(interval, await signOrders(lm, interval, specs))
      const before = await allBalances()
      const committed = await commit(lm, clearing)
      await lm.warpTo(lm.intervalStart(interval + 1n))
      const readings = await signReadings(lm, clearing, (siteId) => readingsBySite[siteId]!)
      const model = computeSettlement({ price: clearing.price, penaltyBps: lm.config.penaltyBps, readings, matches: unpackMatches(clearing.matches) })
      const locked = [...before]
      clearing.siteIds.forEach((id, k) => (locked[id]! -= model.locks[k]!))
      expect(await allBalances()).toEqual(locked)
      const hash = await settleInterval(lm.wallet, lm.market, { clearing, siteRefs: committed.siteRefs, readings })
      expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')
      expect(await allBalances()).toEqual(locked) // nothing moves before finality
      const [, settledAt] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [interval] })
      await lm.warpTo(settledAt + lm.config.disputeWindowSec)
      const f = buildFinalization({ clearing, siteRefs: committed.siteRefs, readings, penaltyBps: lm.config.penaltyBps })
      expect((await lm.client.waitForTransactionReceipt({ hash: await finalizeInterval(lm.wallet, lm.market, f) })).status).toBe('success')
      const after = await allBalances()
      const expected = [...before]
      clearing.siteIds.forEach((id, k) => (expected[id]! += model.deltas[k]!))
      expect(after).toEqual(expected)
      expect(model.releases.every((r) => r >= 0n)).toBe(true)
      const held = await lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
      // the market holds every free balance plus every reserved bond
      const bonds = await Promise.all(Array.from({ length: sites }, (_, id) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'bondOf', args: [id] })))
      expect([...after, ...bonds].reduce((a, b) => a + b, 0n) * lm.config.unit).toBe(held)
    }),
    { numRuns: 12 },
  )
})
