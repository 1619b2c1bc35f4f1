// `gridmesh market demo --ledger FILE` writes the operator's ledger (what the HMI's market
// view shows), and the API serves it: the signatures in it are the sites' owner and meter keys over the very
// orders and readings listed, the trades add up to the clearing, settled intervals carry
// their transactions and dispute window, and balances are conserved. Slow: a real demo run.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hexToBigInt, recoverTypedDataAddress, type Hex } from 'viem'
import { afterAll, describe, expect, it } from 'vitest'
import { readMarketLedger } from '../../core/api/market/readMarketLedger.ts'
import { createMarketDomain, marketTypes } from '../../core/market/typedData.ts'
import { cloudClearness } from '../../hardware-sims/physics/clouds.ts'

const work = mkdtempSync(join(tmpdir(), 'gridmesh-ledger-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** As in market-demo.test.ts: a weather seed clear for the next two days, so some site has a surplus to sell. */
function clearSkySeed(): number {
  const hourMs = 3_600_000
  const nextHourMs = Math.ceil(Date.now() / hourMs) * hourMs
  const times = Array.from({ length: 50 * 4 }, (_, i) => nextHourMs + i * 15 * 60_000)
  for (let seed = 1; seed < 1000; seed++) if (times.every((t) => cloudClearness(t, seed) > 0.9)) return seed
  throw new Error('no seed with 50 clear hours ahead below 1000')
}

/** EIP-2098 compact (r, yParity << 255 | s) back to a 65-byte signature. */
function fromCompact({ r, vs }: { r: string; vs: string }): Hex {
  const value = hexToBigInt(vs as Hex)
  const yParity = value >> 255n
  const s = value & ((1n << 255n) - 1n)
  return `${r}${s.toString(16).padStart(64, '0')}${(27n + yParity).toString(16)}` as Hex
}

describe('market ledger', () => {
  it('holds signed orders and readings, the clearing, trades, transactions, dispute window and balances of a demo run', async () => {
    const file = join(work, 'ledger.json')
    const seed = clearSkySeed()
    const result = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(process.execPath, ['bin/gridmesh.js', 'market', 'demo', '--sites', '2', '--intervals', '2', '--seed', String(seed), '--ledger', file, '--json'], { timeout: 400_000, maxBuffer: 64 << 20, env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: 'ledger test' } }, (error, _out, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stderr }),
      ),
    )
    expect(result.code, result.stderr).toBe(0)
    const answer = await readMarketLedger(file)
    if (!answer.available) throw new Error(answer.reason)
    const { ledger } = answer
    expect(ledger.intervals).toHaveLength(2)
    expect(ledger.sites).toHaveLength(2)
    const domain = createMarketDomain(ledger.chain.chainId, ledger.chain.market as Hex)
    for (const i of ledger.intervals) {
      expect(i.endMs - i.startMs).toBe(ledger.intervalSec * 1000)
      for (const o of i.orders) {
        const signer = await recoverTypedDataAddress({ domain, types: marketTypes, primaryType: 'Order', message: { siteId: o.siteId, interval: BigInt(i.interval), side: o.side === 'bid' ? 0 : 1, energyWh: o.energyWh, limitPrice: BigInt(o.limitPrice), deadline: BigInt(o.deadline) }, signature: fromCompact(o.signature) })
        expect(signer).toBe(ledger.sites.find((s) => s.siteId === o.siteId)!.owner)
      }
      // on the live path a site signs the reading of every interval it ordered in (a serve that sat an interval out signs none)
      expect(i.readings.map((r) => r.siteId).sort()).toEqual([...new Set(i.orders.map((o) => o.siteId))].sort())
      for (const r of i.readings) {
        const signer = await recoverTypedDataAddress({ domain, types: marketTypes, primaryType: 'MeterReading', message: { siteId: r.siteId, interval: BigInt(i.interval), importWh: r.importWh, exportWh: r.exportWh }, signature: fromCompact(r.signature) })
        expect(signer).toBe(ledger.sites.find((s) => s.siteId === r.siteId)!.meter)
      }
      expect(i.trades.reduce((sum, t) => sum + t.energyWh, 0)).toBe(i.tradedWh)
      if (i.clearingPrice === null) {
        expect(i.settlement).toEqual({ state: 'no-trade', commitTx: null, settleTx: null, finalizeTx: null, disputeWindowEndsAtMs: null })
      } else {
        expect(i.settlement.state).toBe('finalized')
        for (const tx of [i.settlement.commitTx, i.settlement.settleTx, i.settlement.finalizeTx]) expect(tx).toMatch(/^0x[0-9a-f]{64}$/)
        expect(i.settlement.disputeWindowEndsAtMs! - ledger.disputeWindowSec * 1000).toBeGreaterThanOrEqual(i.endMs)
      }
    }
    expect(ledger.intervals.some((i) => i.clearingPrice !== null)).toBe(true)
    // escrow now plus what intervals committed and not yet finalized lock of it (the sites trade on past the run's intervals)
    const sum = (k: 'before' | 'after') => ledger.balances.reduce((s, b) => s + BigInt(b[k]) + (k === 'after' ? BigInt(b.locked ?? '0') : 0n), 0n)
    expect(ledger.balances.every((b) => b.locked !== undefined)).toBe(true)
    expect(sum('after')).toBe(sum('before'))
  }, 480_000)

  it('answers why there is no ledger, or why a file is not one', async () => {
    expect(await readMarketLedger(join(work, 'missing.json'))).toEqual({ available: false, reason: `no market ledger at ${join(work, 'missing.json')} yet (gridmesh market demo --ledger ${join(work, 'missing.json')} writes one)` })
    const bad = join(work, 'bad.json')
    writeFileSync(bad, '{"version":1,"source":"market-demo"')
    expect((await readMarketLedger(bad)) as { reason: string }).toMatchObject({ available: false, reason: expect.stringMatching(/is not JSON/) })
    writeFileSync(bad, JSON.stringify({ version: 1, source: 'made-up' }))
    expect((await readMarketLedger(bad)) as { reason: string }).toMatchObject({ available: false, reason: expect.stringMatching(/is not a market ledger: source: expected one of market-demo/) })
  })
})
