// `gridmesh market demo` end to end on the live path (issue 15): every site a `gridmesh
// serve --sim-clock` on its own simulator, the operator in the demo's process, the embedded
// broker, a local anvil; the JSON it prints must add up (escrow conserved, every settlement
// nets to zero, every trading site signed its reading, the keys are the key files'). Slow
// on a busy machine: each site is a serve process that loads viem and the solver through tsx.
import { execFile, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { loadKeystore } from '../../core/chain/keystore.ts'
import { startAnvil } from '../../core/chain/startAnvil.ts'
import { run as runMarket } from '../../core/demo/marketCli.ts'
import { cloudClearness } from '../../hardware-sims/physics/clouds.ts'
import { chooseDemoHardware } from '../../core/demo/demoSite/chooseDemoHardware.ts'
import { DemoError } from '../../core/demo/DemoError.ts'
import { runMarketDemo } from '../../core/demo/runMarketDemo.ts'

const passphrase = 'demo test passphrase'
const run = (args: string[]) =>
  spawnSync(process.execPath, ['bin/gridmesh.js', 'market', ...args], {
    encoding: 'utf8',
    timeout: 330_000,
    env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: passphrase },
  })

/** As `run`, without blocking the event loop (an anvil this process started keeps being drained). */
const runAsync = (args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['bin/gridmesh.js', 'market', ...args], { encoding: 'utf8', timeout: 330_000, maxBuffer: 64 << 20, env: { ...process.env, GRIDMESH_KEYSTORE_PASSPHRASE: passphrase } }, (error, stdout, stderr) =>
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
    )
  })

type Demo = {
  start: { iso: string; timezone: string; seed: number; firstInterval: number }
  sites: { siteId: number; owner: string; meter: string }[]
  intervals: {
    interval: string
    orders: number
    price: string | null
    trades: { sellerSiteId: number; buyerSiteId: number; energyWh: number }[]
    readings: { siteId: number; importWh: number; exportWh: number }[]
    state: 'no-trade' | 'settled' | 'finalized'
    balanceDeltas: Record<string, string> | null
    settleGas: string | null
  }[]
  balancesBefore: { siteId: number; balance: string }[]
  balances: { siteId: number; balance: string; locked: string }[]
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
  it('trades between 3 simulated sites, each a serve: every trade settled and finalized, readings signed by the traders, balances add up', async () => {
    const keyDir = mkdtempSync(join(tmpdir(), 'gm-demo-keys-'))
    const result = run(['demo', '--sites', '3', '--intervals', '2', '--seed', String(clearSkySeed()), '--key-dir', keyDir, '--json'])
    expect(result.status, result.stderr).toBe(0)
    const demo = JSON.parse(result.stdout.trim().split('\n').pop()!) as Demo
    expect(demo.sites.map((s) => s.siteId)).toEqual([1, 2, 3])
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
    // the run's intervals, in order from the first it announced
    expect(demo.intervals.map((i) => Number(i.interval))).toEqual([demo.start.firstInterval, demo.start.firstInterval + 1])
    expect(BigInt(demo.gas.finalizeTotal)).toBeGreaterThan(0n)
    const traded = demo.intervals.filter((i) => i.price !== null)
    expect(traded.length).toBeGreaterThan(0)
    for (const i of traded) {
      expect(i.state).toBe('finalized')
      expect(Object.values(i.balanceDeltas!).reduce((a, d) => a + BigInt(d), 0n)).toBe(0n)
      expect(BigInt(i.settleGas!)).toBeGreaterThan(0n)
      // every site in a trade delivered and signed its meter's reading (none settled as absent)
      const traders = [...new Set(i.trades.flatMap((t) => [t.sellerSiteId, t.buyerSiteId]))].sort()
      expect(i.readings.map((r) => r.siteId).filter((id) => traders.includes(id)).sort()).toEqual(traders)
      // a seller exported and a buyer imported over the interval
      for (const t of i.trades) expect(i.readings.find((r) => r.siteId === t.sellerSiteId)!.exportWh).toBeGreaterThan(0)
    }
    // the market moves money between sites only: escrow now plus what later intervals (the sites trade on past the run's) lock of it until they are finalized
    const sum = (b: { balance: string; locked?: string }[]) => b.reduce((a, x) => a + BigInt(x.balance) + BigInt(x.locked ?? 0), 0n)
    expect(sum(demo.balances)).toBe(sum(demo.balancesBefore))
    expect(demo.balances.some((b, k) => b.balance !== demo.balancesBefore[k]!.balance)).toBe(true)
    expect(demo.gas.trades).toBe(traded.reduce((a, i) => a + i.trades.length, 0))
  }, 360_000)

  it('a site whose simulator cannot start fails the demo with a DemoError naming it and why, and nothing keeps running', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'gm-demo-bad-sim-'))
    // the second site (site 2) gets an inverter of -5 W, which its simulator refuses
    const failure = runMarketDemo(['--sites', '3', '--intervals', '1', '--json'], {
      workDir,
      hardware: (n) => (n === 1 ? { ...chooseDemoHardware(n), pvRatedW: -5 } : chooseDemoHardware(n)),
    })
    await expect(failure).rejects.toThrow(DemoError)
    await expect(failure).rejects.toThrow(/^site 2: cannot start its simulator \(.*site-2\/sim\.yaml\): the simulator exited with 2 before it was ready: .*ratedW/s)
    expect(processesMentioning(workDir)).toEqual([])
    expect(childProcesses()).toEqual([])
  }, 120_000)

  it('a site whose serve dies fails the demo with a DemoError naming it, and nothing keeps running', async () => {
    const workDir = mkdtempSync(join(tmpdir(), 'gm-demo-serve-dies-'))
    let killed = false
    const failure = runMarketDemo(['--sites', '2', '--intervals', '1', '--json'], {
      workDir,
      // once site 2's serve has joined the market, it is killed as a crash would end it
      log: (line) => {
        if (killed || !/^peer 2: market: site 2 trades/.test(line)) return
        killed = true
        const serve = processesMentioning(workDir).find((p) => p.includes(' serve ') && p.includes('site-2/site.yaml'))
        if (serve) process.kill(Number(serve.split(':')[0]), 'SIGKILL')
      },
    })
    await expect(failure).rejects.toThrow(DemoError)
    await expect(failure).rejects.toThrow(/^site 2: its serve exited \(SIGKILL\) while the demo ran/)
    expect(killed).toBe(true)
    expect(processesMentioning(workDir)).toEqual([])
    expect(childProcesses()).toEqual([])
  }, 180_000)

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
  }, 360_000)

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
