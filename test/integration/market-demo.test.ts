// `gridmesh market demo` end to end: site processes each running a simulated site
// (simulator process, Modbus devices, MILP plan, control loop), local chain, outbox; the
// JSON it prints must add up (escrow conserved, every settlement nets to zero, orders are
// the plans' market quantities, readings are the simulated meters' energy). Slow on a busy
// machine: each site process loads viem and the solver through tsx and starts a simulator.
import { execFile, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createPublicClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { loadKeystore } from '../../core/chain/keystore.ts'
import { startAnvil } from '../../core/chain/startAnvil.ts'
import { defaultTariff, importPriceAt } from '../../core/control/timeOfUseTariff.ts'
import { run as runMarket } from '../../core/demo/marketCli.ts'
import { cloudClearness } from '../../hardware-sims/physics/clouds.ts'
import { chooseDemoHardware } from '../../core/demo/demoSite/chooseDemoHardware.ts'
import { minOrderWh } from '../../core/trading/orderFromPlan.ts'
import { passphraseEnv } from '../../core/demo/demoSiteProcess.ts'
import { DemoError, runMarketDemo } from '../../core/demo/runMarketDemo.ts'

const passphrase = 'demo test passphrase'
const run = (args: string[]) =>
  spawnSync(process.execPath, ['bin/gridmesh.js', 'market', ...args], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: passphrase },
  })

/** As `run`, without blocking the event loop (an anvil this process started keeps being drained). */
const runAsync = (args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/gridmesh.js', 'market', ...args], { encoding: 'utf8', timeout: 170_000, maxBuffer: 64 << 20, env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: passphrase } }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    )
  })

type SiteRow = {
  siteId: number
  planned: { slotStartMs: number; marketBuyW: number; marketSellW: number; plannedNetImportWh: number; planStatus: string }
  order: { side: 'bid' | 'ask'; energyWh: number; limitPrice: string } | null
  committedNetSellWh: number | null
  metered: { importWh: number; exportWh: number }
  meterCounters: { fromMs: number; toMs: number; importWh: [number, number]; exportWh: [number, number] }
  simEnergyWh: { importWh: [number, number]; exportWh: [number, number] }
}

type Demo = {
  start: { iso: string; timezone: string; seed: number }
  sites: { siteId: number; owner: string; meter: string }[]
  intervals: {
    interval: string
    orders: number
    price: string | null
    trades: { sellerSiteId: number; buyerSiteId: number; energyWh: number }[]
    readings?: { siteId: number; importWh: number; exportWh: number }[]
    balanceDeltas?: Record<string, string>
    settleGas?: string
    sites: SiteRow[]
  }[]
  balancesBefore: { siteId: number; balance: string }[]
  balances: { siteId: number; balance: string }[]
  gas: { trades: number; settleTotal: string; finalizeTotal: string }
}

/** Processes whose command line mentions `text` (the demo puts its work directory on every site's and simulator's). */
function processesMentioning(text: string): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmdline: string
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')
    } catch {
      continue // gone while we looked
    }
    if (cmdline.includes(text)) found.push(`${pid}: ${cmdline}`)
  }
  return found
}

/** Children of this process still running (anvil, site processes). */
function childProcesses(): string[] {
  const found: string[] = []
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[1]) === process.pid && fields[0] !== 'Z') found.push(`${pid}: ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ')}`)
    } catch {
      continue
    }
  }
  return found
}

/**
 * A weather seed under which the sky is clear for the demo's first hours, whichever of the
 * next two days the market opens on (at 11:00 in Melbourne, 00:00 UTC in summer, 01:00 in
 * winter): the weather is a pure function of seed and time, and an overcast day leaves
 * no site a surplus to sell.
 */
function clearSkySeed(): number {
  const hourMs = 3_600_000
  const nextHourMs = Math.ceil(Date.now() / hourMs) * hourMs
  const times = Array.from({ length: 50 * 4 }, (_, i) => nextHourMs + i * 15 * 60_000) // the next 50 hours
  for (let seed = 1; seed < 1000; seed++) if (times.every((t) => cloudClearness(t, seed) > 0.9)) return seed
  throw new Error('no seed with 50 clear hours ahead below 1000')
}

describe('gridmesh market demo', () => {
  it('trades between 3 simulated sites in their own processes: orders are their plans, readings their meters, balances add up', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'gm-demo-keys-'))
    const result = run(['demo', '--sites', '3', '--intervals', '2', '--seed', String(clearSkySeed()), '--key-dir', keyDir, '--json'])
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
    // the market moves money between sites only
    const sum = (b: { balance: string }[]) => b.reduce((a, x) => a + BigInt(x.balance), 0n)
    expect(sum(demo.balancesBefore)).toBe(3n * 100_000_000n)
    expect(sum(demo.balances)).toBe(sum(demo.balancesBefore))
    expect(demo.gas.trades).toBe(traded.reduce((a, i) => a + i.trades.length, 0))

    const tariff = defaultTariff(demo.start.timezone)
    expect(demo.intervals).toHaveLength(2)
    for (const [n, i] of demo.intervals.entries()) {
      expect(i.sites.map((r) => r.siteId)).toEqual([0, 1, 2])
      expect(i.orders).toBe(i.sites.filter((r) => r.order).length)
      for (const r of i.sites) {
        // the order is the plan's market quantity in the interval's slot, at the site's tariff limits
        const startMs = Date.parse(demo.start.iso) + n * 900_000
        expect(r.planned.slotStartMs).toBe(startMs)
        expect(r.planned.planStatus).toBe('optimal')
        expect(r.planned.plannedNetImportWh).toBe(Math.round((r.planned.marketBuyW - r.planned.marketSellW) / 4))
        const wantWh = Math.min(Math.abs(r.planned.plannedNetImportWh), 5_000)
        if (wantWh < minOrderWh) expect(r.order).toBeNull()
        else
          expect(r.order).toEqual(
            r.planned.plannedNetImportWh > 0
              ? { side: 'bid', energyWh: wantWh, limitPrice: String(Math.round(importPriceAt(tariff, startMs) * 1e6)) }
              : { side: 'ask', energyWh: wantWh, limitPrice: String(Math.round(tariff.exportEurPerKWh * 1e6)) },
          )
        // what the site traded is what the clearing matched for it
        const soldWh = i.trades.reduce((a, t) => a + (t.sellerSiteId === r.siteId ? t.energyWh : 0) - (t.buyerSiteId === r.siteId ? t.energyWh : 0), 0)
        expect(r.committedNetSellWh).toBe(soldWh)
        // the reading is the Modbus counters' delta over the interval, and that is the simulator's own energy account (its HTTP API) within the counters' 1 Wh resolution
        expect(r.meterCounters).toMatchObject({ fromMs: startMs, toMs: startMs + 900_000 })
        expect(r.metered.importWh).toBe(r.meterCounters.importWh[1] - r.meterCounters.importWh[0])
        expect(r.metered.exportWh).toBe(r.meterCounters.exportWh[1] - r.meterCounters.exportWh[0])
        expect(Math.abs(r.metered.importWh - (r.simEnergyWh.importWh[1] - r.simEnergyWh.importWh[0]))).toBeLessThanOrEqual(1)
        expect(Math.abs(r.metered.exportWh - (r.simEnergyWh.exportWh[1] - r.simEnergyWh.exportWh[0]))).toBeLessThanOrEqual(1)
        // intervals follow each other on the same meter
        if (n > 0) expect(demo.intervals[n - 1]!.sites[r.siteId]!.meterCounters.importWh[1]).toBe(r.meterCounters.importWh[0])
      }
      // what settled is what the meters read
      for (const reading of i.readings ?? []) expect(i.sites[reading.siteId]!.metered).toEqual({ importWh: reading.importWh, exportWh: reading.exportWh })
    }
    // the sites differ: at least one plans to sell while another plans to buy
    const planned = demo.intervals.flatMap((i) => i.sites.map((r) => r.planned.plannedNetImportWh))
    expect(Math.min(...planned)).toBeLessThan(0)
    expect(Math.max(...planned)).toBeGreaterThan(0)
  }, 180_000)

  it('a site process fed a malformed request line answers with an error naming it, then exits with nothing left running', async () => {
    // The coordinator turns a site's error answer into a DemoError naming the site (the next test
    // shows it for a site whose simulator cannot start); here the site process itself is the peer.
    const workDir = mkdtempSync(join(tmpdir(), 'gm-demo-bad-line-'))
    const child = spawn(process.execPath, [fileURLToPath(new URL('../../bin/run-ts.js', import.meta.url)), fileURLToPath(new URL('../../core/demo/demoSiteProcess.ts', import.meta.url)), workDir], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: { ...process.env, [passphraseEnv]: 'test passphrase' },
    })
    const answers = createInterface({ input: child.stdout! })
    const first = new Promise<string>((resolve) => answers.once('line', resolve))
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
    child.stdin!.write('{"type":"order","interval":\n')
    const answer = JSON.parse(await first) as { type: string; message: string }
    expect(answer.type).toBe('error')
    expect(answer.message).toMatch(/^site \?: malformed request line: .*expected one JSON object per line/)
    expect(await exited).toBe(1)
    expect(processesMentioning(workDir)).toEqual([])
  }, 60_000)

  it('a site whose simulator cannot start fails the demo with a DemoError naming it and why, and nothing keeps running', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'gm-demo-bad-sim-'))
    const failure = runMarketDemo(['--sites', '3', '--intervals', '1', '--json'], {
      workDir,
      hardware: (siteId) => (siteId === 2 ? { ...chooseDemoHardware(2), pvRatedW: -5 } : chooseDemoHardware(siteId)),
    })
    await expect(failure).rejects.toThrow(DemoError)
    await expect(failure).rejects.toThrow(/^site 2: cannot start its simulator \(.*site-2\/site\.yaml\): the simulator exited with 2 before it was ready: .*ratedW.*\(answering 'hello'\)/s)
    expect(processesMentioning(workDir)).toEqual([])
    expect(childProcesses()).toEqual([])
  }, 120_000)

  it("uses the chain a site file names (market.chain.rpcUrl) instead of starting its own anvil", async () => {
    const external = await startAnvil()
    try {
      const dir = mkdtempSync(join(tmpdir(), 'gm-demo-site-'))
      const siteFile = join(dir, 'operator.yaml')
      writeFileSync(siteFile, `name: operator\ntimezone: Australia/Melbourne\ndevices:\n  - name: meter\n    connection: { type: tcp, host: 127.0.0.1, port: 5022 }\n    unitId: 1\n    driver: sunspec\nmarket:\n  chain:\n    rpcUrl: ${external.rpcUrl}\n    chainId: ${external.chainId}\n`)
      const result = await runAsync(['demo', '--sites', '2', '--intervals', '1', '--seed', String(clearSkySeed()), '--site', siteFile, '--json'])
      expect(result.status, result.stderr).toBe(0)
      const demo = JSON.parse(result.stdout.trim().split('\n').pop()!) as { chain: { rpcUrl: string; embedded: boolean; market: `0x${string}` } }
      expect(demo.chain).toMatchObject({ rpcUrl: external.rpcUrl, embedded: false })
      // the market was deployed on the external chain, which outlives the demo
      const code = await createPublicClient({ transport: http(external.rpcUrl) }).getCode({ address: demo.chain.market })
      expect(code && code.length > 2).toBe(true)
    } finally {
      await external.stop()
    }
  }, 120_000)

  it('a site file whose chain cannot be reached fails the demo naming the URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gm-demo-site-'))
    const siteFile = join(dir, 'operator.yaml')
    writeFileSync(siteFile, 'name: operator\ntimezone: Australia/Melbourne\ndevices:\n  - name: meter\n    connection: { type: tcp, host: 127.0.0.1, port: 5022 }\n    unitId: 1\n    driver: sunspec\nmarket:\n  chain:\n    rpcUrl: http://127.0.0.1:9\n')
    const result = run(['demo', '--sites', '2', '--intervals', '1', '--site', siteFile])
    expect(result.status).not.toBe(0)
    expect(result.stderr).toContain('http://127.0.0.1:9')
  }, 60_000)

  it('rejects bad options with what was expected', async () => {
    await expect(runMarket(['demo', '--sites', '1'])).rejects.toThrow('--sites: expected an integer 2-8, got 1')
    await expect(runMarket(['demo', '--intervals'])).rejects.toThrow('--intervals: expected an integer 1-96, got nothing')
    await expect(runMarket(['demo', '--start-hour', '24'])).rejects.toThrow('--start-hour: expected an integer 0-23, got 24')
    await expect(runMarket(['demo', '--fast'])).rejects.toThrow("unknown option '--fast'")
    await expect(runMarket(['demo', '--key-dir'])).rejects.toThrow('--key-dir: expected a directory, got nothing')
    await expect(runMarket(['demo', '--site'])).rejects.toThrow('--site: expected a site file, got nothing')
    await expect(runMarket(['settle'])).rejects.toThrow("unknown subcommand 'settle'; expected one of: demo")
  })
})
