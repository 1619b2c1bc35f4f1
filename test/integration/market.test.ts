// The chain and the TypeScript model agree: random order books cleared by clearAuction,
// committed, delivered with random meter readings and settled on anvil move exactly the
// balances computeSettlement predicts, and the escrow still holds every token.
import fc from 'fast-check'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { createLocalMarket, type LocalMarket } from '../../core/chain/createLocalMarket.ts'
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
      const committed = await commit(lm, clearing)
      await lm.warpTo(lm.intervalStart(interval + 1n))
      const readings = await signReadings(lm, clearing, (siteId) => readingsBySite[siteId]!)
      const before = await allBalances()
      const hash = await settleInterval(lm.wallet, lm.market, { clearing, siteRefs: committed.siteRefs, readings })
      expect((await lm.client.waitForTransactionReceipt({ hash })).status).toBe('success')
      const after = await allBalances()
      const model = computeSettlement({ price: clearing.price, penaltyBps: lm.config.penaltyBps, readings, matches: unpackMatches(clearing.matches) })
      const expected = [...before]
      clearing.siteIds.forEach((id, k) => (expected[id]! += model.deltas[k]!))
      expect(after).toEqual(expected)
      const held = await lm.client.readContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [lm.market] })
      expect(after.reduce((a, b) => a + b, 0n) * lm.config.unit).toBe(held)
    }),
    { numRuns: 12 },
  )
})
