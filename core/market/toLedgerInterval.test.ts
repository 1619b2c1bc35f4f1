import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, it } from 'vitest'
import { marketLedgerSchema, type MarketLedger } from './marketLedgerSchema.ts'
import { toLedgerInterval } from './toLedgerInterval.ts'
import { writeMarketLedger } from './writeMarketLedger.ts'

const sig = { r: `0x${'11'.repeat(32)}` as const, vs: `0x${'22'.repeat(32)}` as const }
const address = (n: number) => `0x${String(n).repeat(40).slice(0, 40)}`

it('keeps an interval as the ledger does: bigints as decimals, sides by name, signatures, and a no-trade settlement', () => {
  const entry = toLedgerInterval({
    interval: 2n ** 40n,
    startMs: 900_000,
    endMs: 1_800_000,
    orders: [
      { siteId: 0, interval: 2n ** 40n, side: 1, energyWh: 700, limitPrice: 80_000n, deadline: 123n, ...sig },
      { siteId: 1, interval: 2n ** 40n, side: 0, energyWh: 500, limitPrice: 300_000n, deadline: 123n, ...sig },
    ],
    clearing: { interval: 2n ** 40n, price: 190_000n, matches: [{ sellerSiteId: 0, buyerSiteId: 1, energyWh: 500 }], tradedWh: 500 },
    readings: [{ siteId: 0, interval: 2n ** 40n, importWh: 0, exportWh: 650, ...sig }],
    commitTx: `0x${'ab'.repeat(32)}`,
    settleTx: `0x${'cd'.repeat(32)}`,
    disputeWindowEndsAtMs: 5_400_000,
  })
  expect(entry).toEqual({
    interval: '1099511627776',
    startMs: 900_000,
    endMs: 1_800_000,
    orders: [
      { siteId: 0, side: 'ask', energyWh: 700, limitPrice: '80000', deadline: '123', signature: sig },
      { siteId: 1, side: 'bid', energyWh: 500, limitPrice: '300000', deadline: '123', signature: sig },
    ],
    clearingPrice: '190000',
    tradedWh: 500,
    trades: [{ sellerSiteId: 0, buyerSiteId: 1, energyWh: 500 }],
    readings: [{ siteId: 0, importWh: 0, exportWh: 650, signature: sig }],
    settlement: { state: 'settled', commitTx: `0x${'ab'.repeat(32)}`, settleTx: `0x${'cd'.repeat(32)}`, finalizeTx: null, disputeWindowEndsAtMs: 5_400_000 },
  })
  const none = toLedgerInterval({ interval: 3n, startMs: 0, endMs: 1, orders: [], clearing: { interval: 3n, price: null, matches: [], tradedWh: 0 }, readings: [], commitTx: null, settleTx: null, disputeWindowEndsAtMs: null })
  expect(none.settlement).toEqual({ state: 'no-trade', commitTx: null, settleTx: null, finalizeTx: null, disputeWindowEndsAtMs: null })
  expect(none.clearingPrice).toBeNull()
})

it('writes only a valid ledger, atomically', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-ledger-unit-'))
  try {
    const ledger: MarketLedger = {
      version: 1,
      source: 'market-demo',
      writtenAtMs: 1,
      chain: { rpcUrl: 'http://127.0.0.1:8545', chainId: 31337, embedded: true, market: address(1), token: address(2) },
      intervalSec: 900,
      disputeWindowSec: 3600,
      sites: [{ siteId: 0, owner: address(3), meter: address(4) }],
      intervals: [],
      balances: [{ siteId: 0, before: '100000000', after: '100000000' }],
    }
    const file = join(dir, 'ledger.json')
    writeMarketLedger(file, ledger)
    expect(marketLedgerSchema.parse(JSON.parse(readFileSync(file, 'utf8')))).toEqual(ledger)
    expect(() => writeMarketLedger(file, { ...ledger, balances: [{ siteId: 0, before: '1e8', after: '1' }] })).toThrow(/a decimal integer/)
    // the bad write left the good file
    expect(marketLedgerSchema.parse(JSON.parse(readFileSync(file, 'utf8')))).toEqual(ledger)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

it('flags an interval whose feeder reading does not match the sites\' readings beyond the tolerance', () => {
  const base = {
    interval: 7n,
    startMs: 0,
    endMs: 900_000,
    orders: [],
    clearing: { interval: 7n, price: 150_000n, matches: [{ sellerSiteId: 0, buyerSiteId: 1, energyWh: 1000 }], tradedWh: 1000 },
    readings: [
      { siteId: 0, interval: 7n, importWh: 0, exportWh: 1000, ...sig },
      { siteId: 1, interval: 7n, importWh: 1400, exportWh: 0, ...sig },
    ],
    commitTx: null,
    settleTx: `0x${'cd'.repeat(32)}` as const,
    disputeWindowEndsAtMs: null,
  }
  // the sites' net import is 400 Wh of a gross 2 400 Wh; 5 % tolerance is 120 Wh
  const ok = toLedgerInterval({ ...base, feeder: { importWh: 500, exportWh: 0, toleranceBps: 500, postTx: null } })
  expect(ok.feeder).toEqual({ importWh: 500, exportWh: 0, feederNetWh: 500, sitesNetWh: 400, toleranceBps: 500, mismatch: false, postTx: null })
  const bad = toLedgerInterval({ ...base, feeder: { importWh: 521, exportWh: 0, toleranceBps: 500, postTx: null } })
  expect(bad.feeder?.mismatch).toBe(true)
  expect(toLedgerInterval(base).feeder).toBeUndefined()
  expect(marketLedgerSchema.shape.intervals.element.safeParse(bad).success).toBe(true)
})
