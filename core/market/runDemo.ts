// `gridmesh market demo`: a local anvil, one coordinator (the market operator) and N site
// processes with their own keys. Each interval: sites sign orders from their plans, the
// coordinator clears the auction, every site recomputes it and must agree, the clearing
// is committed, chain time moves past the interval, sites sign meter readings, and the
// settlement goes out through the persistent outbox. Prints trades, settlements,
// balances and gas.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { encodeFunctionData, type Address } from 'viem'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { buildFinalization, type Finalization } from '../chain/buildFinalization.ts'
import { commitClearing } from '../chain/commitClearing.ts'
import { committedSiteRefs } from '../chain/committedSiteRefs.ts'
import { createLocalMarket } from '../chain/createLocalMarket.ts'
import { createOutbox } from '../chain/createOutbox.ts'
import { startAnvil } from '../chain/startAnvil.ts'
import { BaseError, UsageError } from '../errors/BaseError.ts'
import { clearAuction } from './clearAuction.ts'
import { computeSettlement } from './computeSettlement.ts'
import { encodeClearing, packReading } from './encodeClearing.ts'
import { fromJsonLine, toJsonLine } from './jsonLines.ts'
import type { SignedMeterReading, SignedOrder } from './signMarketData.ts'
import { passphraseEnv, type SiteRequest } from './siteProcess.ts'

const here = dirname(fileURLToPath(import.meta.url))

/** A demo step that failed; says which interval and site. */
export class DemoError extends BaseError {
  override name = 'DemoError' as const
}

type DemoOptions = { sites: number; intervals: number; json: boolean; seed: number; keyDir: string | null }

function parseArgs(argv: string[]): DemoOptions {
  const options: DemoOptions = { sites: 3, intervals: 4, json: false, seed: 1, keyDir: null }
  const int = (flag: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value)
    if (value === undefined || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`gridmesh market demo: ${flag}: expected an integer ${min}-${max}, got ${value ?? 'nothing'}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--json') options.json = true
    else if (flag === '--sites') options.sites = int(flag, argv[++i], 2, 8)
    else if (flag === '--intervals') options.intervals = int(flag, argv[++i], 1, 96)
    else if (flag === '--seed') options.seed = int(flag, argv[++i], 0, 2 ** 31)
    else if (flag === '--key-dir') {
      const value = argv[++i]
      if (!value) throw new UsageError(`gridmesh market demo: --key-dir: expected a directory, got nothing`)
      options.keyDir = value
    } else throw new UsageError(`gridmesh market demo: unknown option '${flag}'; expected --sites N, --intervals N, --seed N, --key-dir DIR, --json`)
  }
  return options
}

type SiteHandle = { siteId: number; child: ChildProcess; ask<T>(req: SiteRequest): Promise<T> }

function spawnSite(siteId: number, passphrase: string): SiteHandle {
  const child = spawn(process.execPath, [join(here, '..', '..', 'bin', 'run-ts.js'), join(here, 'siteProcess.ts')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [passphraseEnv]: passphrase },
  })
  const waiting: ((line: string) => void)[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line))
  const ask = <T>(req: SiteRequest) =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new DemoError(`site ${siteId}: process exited with code ${code} while answering '${req.type}'`))
      child.once('exit', onExit)
      waiting.push((line) => {
        child.off('exit', onExit)
        resolve(fromJsonLine<T>(line))
      })
      child.stdin!.write(toJsonLine(req))
    })
  return { siteId, child, ask }
}

/** Runs the demo; returns the exit code. */
export async function runDemo(argv: string[]): Promise<number> {
  const opts = parseArgs(argv)
  const log = (line: string) => {
    if (!opts.json) process.stdout.write(`${line}\n`)
  }
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-demo-'))
  const anvil = await startAnvil()
  const handles: SiteHandle[] = []
  try {
    const lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 0 })
    const caps = { importCapWh: 5_000, exportCapWh: 5_000 }
    const deposit = 100_000_000n // 100 tokens of 6 decimals per site
    log(`market ${lm.market} on anvil ${anvil.rpcUrl} (chain ${anvil.chainId}); token ${lm.token}`)
    const sites: { siteId: number; owner: Address; meter: Address }[] = []
    // each site seals its keys in its own scrypt key files; the passphrase reaches it only
    // through its environment and the coordinator sees addresses only
    // (GRIDMESH_KEYSTORE_PASSPHRASE and --key-dir keep the key files across runs)
    const passphrase = process.env[passphraseEnv] || randomBytes(24).toString('base64url')
    for (let siteId = 0; siteId < opts.sites; siteId++) handles.push(spawnSite(siteId, passphrase))
    const keys = await Promise.all(
      handles.map((h) =>
        h.ask<{ owner: Address; meter: Address }>({
          type: 'hello',
          siteId: h.siteId,
          sites: opts.sites,
          seed: opts.seed,
          domain: lm.domain,
          keyDir: join(opts.keyDir ?? join(dir, 'keys'), `site-${h.siteId}`),
          ...caps,
        }),
      ),
    )
    for (const [siteId, k] of keys.entries()) {
      sites.push({ siteId, ...k })
      await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [k.owner, k.meter, caps.importCapWh, caps.exportCapWh] })
    }
    const total = deposit * BigInt(opts.sites)
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, total] })
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, total] })
    for (const s of sites) {
      const hash = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [s.siteId, deposit] })
      await lm.client.waitForTransactionReceipt({ hash })
    }
    const balances = () =>
      Promise.all(sites.map((s) => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'balanceOf', args: [s.siteId] })))
    const outbox = createOutbox({ path: join(dir, 'outbox.db'), client: lm.client, account: lm.operator, chainId: anvil.chainId, abi: energyMarketAbi })

    const intervals: ({ interval: bigint } & Record<string, unknown>)[] = []
    let commitGasTotal = 0n
    let settleGasTotal = 0n
    let finalizeGasTotal = 0n
    const settled: Finalization[] = []
    let tradesTotal = 0
    /** Orders, clearing (every site must agree) and commit of one interval; null when nothing trades. */
    const prepare = async (interval: bigint) => {
      const deadline = lm.intervalStart(interval)
      const answers = await Promise.all(handles.map((h) => h.ask<{ order: SignedOrder | null }>({ type: 'order', interval, deadline })))
      const orders = answers.flatMap((a) => (a.order ? [a.order] : []))
      const clearing = clearAuction(interval, orders)
      const acks = await Promise.all(handles.map((h) => h.ask<{ agrees: boolean }>({ type: 'clearing', orders, clearing })))
      const disagreeing = acks.flatMap((a, i) => (a.agrees ? [] : [i]))
      if (disagreeing.length) throw new DemoError(`interval ${interval}: sites ${disagreeing.join(', ')} computed a different clearing; expected every site to agree`)
      if (clearing.price === null) {
        log(`interval ${interval}: ${orders.length} orders, no trade`)
        intervals.push({ interval, orders: orders.length, price: null, trades: [] })
        return null
      }
      const encoded = encodeClearing(clearing, orders)
      const commitHash = await commitClearing(lm.wallet, lm.market, encoded)
      const commitReceipt = await lm.client.waitForTransactionReceipt({ hash: commitHash })
      if (commitReceipt.status !== 'success') throw new DemoError(`interval ${interval}: commit ${commitHash} reverted`)
      const siteRefs = await committedSiteRefs(lm.client, lm.market, encoded, commitReceipt)
      return { interval, orders, clearing, encoded, commitGas: commitReceipt.gasUsed, siteRefs }
    }

    /** Sends one transaction through the outbox and waits until it is mined; returns its receipt. */
    const send = async (key: string, data: `0x${string}`, what: string) => {
      outbox.enqueue(key, { to: lm.market, data })
      for (let tries = 0; outbox.get(key)!.status === 'pending' || outbox.get(key)!.status === 'signed'; tries++) {
        if (tries === 50) throw new DemoError(`${what}: still open after 50 outbox passes: ${outbox.get(key)!.error ?? ''}`)
        await outbox.processOnce()
      }
      const entry = outbox.get(key)!
      if (entry.status !== 'confirmed') throw new DemoError(`${what}: ${entry.status}: ${entry.error ?? ''}`)
      const hash = entry.hashes[entry.hashes.length - 1]!
      return { hash, receipt: await lm.client.getTransactionReceipt({ hash }) }
    }

    /** Meter readings from the sites and settlement through the outbox, after the interval ended. */
    const settle = async (p: NonNullable<Awaited<ReturnType<typeof prepare>>>) => {
      const { interval, encoded, clearing } = p
      const readings = await Promise.all(
        encoded.siteIds.map((id) => handles[id]!.ask<{ reading: SignedMeterReading }>({ type: 'reading', interval }).then((r) => r.reading)),
      )
      const key = `settle:${lm.market}:${interval}`
      const { hash: settleTx, receipt: settleReceipt } = await send(
        key,
        encodeFunctionData({
          abi: energyMarketAbi,
          functionName: 'settle',
          args: [interval, encoded.price, p.siteRefs, encoded.matches, readings.map(packReading)],
        }),
        `interval ${interval}: settlement`,
      )
      commitGasTotal += p.commitGas
      settleGasTotal += settleReceipt.gasUsed
      tradesTotal += clearing.matches.length
      settled.push(buildFinalization({ clearing: encoded, siteRefs: p.siteRefs, readings, penaltyBps: lm.config.penaltyBps }))
      // what finalize will credit on top of the locks, by the same rule the contract applies
      const matches = encoded.matches.map((m) => ({ sellerPos: Number((m >> 40n) & 0xffn), buyerPos: Number((m >> 32n) & 0xffn), energyWh: Number(m & 0xffffffffn) }))
      const model = computeSettlement({ price: encoded.price, penaltyBps: lm.config.penaltyBps, readings, matches })
      const deltas = Object.fromEntries(encoded.siteIds.map((id, k) => [id, model.deltas[k]!]))
      log(
        `interval ${interval}: price ${Number(clearing.price) / 1e6} /kWh, ${clearing.matches.length} trades, ${clearing.tradedWh} Wh; ` +
          `commit ${p.commitGas} gas, settle ${settleReceipt.gasUsed} gas; deltas ${JSON.stringify(deltas, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
      )
      intervals.push({
        interval,
        orders: p.orders.length,
        price: clearing.price,
        trades: clearing.matches,
        readings: readings.map(({ siteId, importWh, exportWh }) => ({ siteId, importWh, exportWh })),
        balanceDeltas: deltas,
        commitGas: p.commitGas,
        settleGas: settleReceipt.gasUsed,
        settleTx,
      })
    }

    // pipelined like a live market: interval i+1 is committed while i runs, i settles once it ended
    const first = await lm.nextInterval()
    let prepared = await prepare(first)
    for (let n = 0; n < opts.intervals; n++) {
      const interval = first + BigInt(n)
      if (n === 0) await lm.warpTo(lm.intervalStart(interval)) // later ones start where the last settled
      const next = n + 1 < opts.intervals ? await prepare(interval + 1n) : null
      await lm.warpTo(lm.intervalStart(interval + 1n))
      if (prepared) await settle(prepared)
      prepared = next
    }
    // nothing is credited before the dispute window has passed: then finalize every
    // settled interval (balances before this are free escrow minus the open locks)
    await lm.warpTo((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
    for (const f of settled) {
      const { receipt } = await send(
        `finalize:${lm.market}:${f.interval}`,
        encodeFunctionData({ abi: energyMarketAbi, functionName: 'finalize', args: [f.interval, f.inputsHash, f.releases] }),
        `interval ${f.interval}: finalization`,
      )
      finalizeGasTotal += receipt.gasUsed
    }
    log(`finalized ${settled.length} intervals after the dispute window: ${finalizeGasTotal} gas`)
    const final = await balances()
    const summary = {
      chain: { rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, market: lm.market, token: lm.token },
      sites,
      intervals: intervals.sort((a, b) => (a.interval < b.interval ? -1 : 1)),
      balances: sites.map((s, i) => ({ siteId: s.siteId, balance: final[i]! })),
      gas: {
        commitTotal: commitGasTotal,
        settleTotal: settleGasTotal,
        finalizeTotal: finalizeGasTotal,
        trades: tradesTotal,
        settleGasPerTrade: tradesTotal ? Number(settleGasTotal) / tradesTotal : null,
      },
    }
    outbox.close()
    if (opts.json) process.stdout.write(toJsonLine(summary).replace(/\{"\$bigint":"(-?\d+)"\}/g, '"$1"'))
    else log(`balances: ${summary.balances.map((b) => `site ${b.siteId} ${Number(b.balance) / 1e6}`).join(', ')}; settle gas per trade ${summary.gas.settleGasPerTrade ?? '-'}`)
    return 0
  } finally {
    for (const h of handles) {
      h.child.stdin!.end(toJsonLine({ type: 'bye' }))
    }
    await Promise.all(handles.map((h) => (h.child.exitCode === null ? new Promise((r) => h.child.once('exit', r)) : null)))
    await anvil.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
