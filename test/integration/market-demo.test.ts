// `gridmesh market demo` end to end: site processes, local chain, outbox; the JSON it
// prints must add up (escrow conserved, every settlement nets to zero). Slow on a busy
// machine: each site process loads viem through tsx.
import { spawnSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { loadKeystore } from '../../core/chain/keystore.ts'
import { run as runMarket } from '../../core/market/cli.ts'

const passphrase = 'demo test passphrase'
const run = (args: string[]) =>
  spawnSync(process.execPath, ['bin/gridmesh.js', 'market', ...args], {
    encoding: 'utf8',
    timeout: 110_000,
    env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: passphrase },
  })

type Demo = {
  sites: { siteId: number; owner: string; meter: string }[]
  intervals: { price: string | null; trades: unknown[]; balanceDeltas?: Record<string, string>; settleGas?: string }[]
  balances: { siteId: number; balance: string }[]
  gas: { trades: number; settleTotal: string; finalizeTotal: string }
}

describe('gridmesh market demo', () => {
  it('trades between 3 site processes that sign with keys from their scrypt key files, and prints balances that add up', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'gm-demo-keys-'))
    const result = run(['demo', '--sites', '3', '--intervals', '2', '--key-dir', keyDir, '--json'])
    expect(result.status, result.stderr).toBe(0)
    const demo = JSON.parse(result.stdout.trim().split('\n').pop()!) as Demo
    expect(demo.sites).toHaveLength(3)
    expect(new Set(demo.sites.flatMap((s) => [s.owner, s.meter])).size).toBe(6)
    // every address is the one sealed in that site's key file; no key appears in any output
    for (const s of demo.sites) {
      for (const role of ['owner', 'meter'] as const) {
        const key = await loadKeystore(join(keyDir, `site-${s.siteId}`, `${role}.json`), passphrase)
        expect(privateKeyToAccount(key).address).toBe(s[role])
        expect(result.stdout.toLowerCase()).not.toContain(key.slice(2).toLowerCase())
        expect(result.stderr.toLowerCase()).not.toContain(key.slice(2).toLowerCase())
      }
    }
    expect(BigInt(demo.gas.finalizeTotal)).toBeGreaterThan(0n)
    const traded = demo.intervals.filter((i) => i.price !== null)
    expect(traded.length).toBeGreaterThan(0)
    for (const i of traded) {
      expect(Object.values(i.balanceDeltas!).reduce((a, d) => a + BigInt(d), 0n)).toBe(0n)
      expect(BigInt(i.settleGas!)).toBeGreaterThan(0n)
    }
    const total = demo.balances.reduce((a, b) => a + BigInt(b.balance), 0n)
    expect(total).toBe(3n * 100_000_000n)
    expect(demo.gas.trades).toBe(traded.reduce((a, i) => a + i.trades.length, 0))
  }, 120_000)

  it('rejects bad options with what was expected', async () => {
    await expect(runMarket(['demo', '--sites', '1'])).rejects.toThrow('--sites: expected an integer 2-8, got 1')
    await expect(runMarket(['demo', '--intervals'])).rejects.toThrow('--intervals: expected an integer 1-96, got nothing')
    await expect(runMarket(['demo', '--fast'])).rejects.toThrow("unknown option '--fast'")
    await expect(runMarket(['demo', '--key-dir'])).rejects.toThrow('--key-dir: expected a directory, got nothing')
    await expect(runMarket(['settle'])).rejects.toThrow("unknown subcommand 'settle'; expected one of: demo")
  })
})
