// `gridmesh market demo`: a local anvil, one coordinator (the market operator) and N site
// processes with their own keys, each running its own simulated site (simulator process,
// Modbus devices, forecasts, MILP plan, control loop; core/demo/demoSite). Each interval:
// sites sign orders for their plans' market quantities, the coordinator clears the
// auction, every site recomputes it and must agree, the clearing is committed, chain time
// moves past the interval while every site steps its simulator and control loop to the
// interval's end, sites sign their grid meters' readings, and the settlement goes out
// through the persistent outbox. Prints trades, settlements, planned vs metered energy,
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
import { openChain, type OpenedChain } from '../chain/openChain.ts'
import { openMarket } from '../chain/openMarket.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import { createOutbox } from '../chain/createOutbox.ts'
import { finalizeArgs } from '../chain/finalizeArgs.ts'
import { settleArgs } from '../chain/settleArgs.ts'
import { loadSiteFile } from '../devices/site/loadSiteFile.ts'
import { siteMarketSchema } from '../devices/site/siteFileSchema.ts'
import { BaseError, UsageError } from '../errors/BaseError.ts'
import { clearAuction } from '../market/clearAuction.ts'
import { computeSettlement } from '../market/computeSettlement.ts'
import { encodeClearing } from '../market/encodeClearing.ts'
import { fromJsonLine, toJsonLine } from '../market/jsonLines.ts'
import type { SignedOrder } from '../market/signMarketData.ts'
import { chooseDemoHardware, type DemoHardware } from './demoSite/chooseDemoHardware.ts'
import type { PlannedMarketSlot } from '../trading/orderFromPlan.ts'
import type { SiteRequest } from './demoSite/parseSiteRequest.ts'
import { readDemoSiteTemplate } from './demoSite/writeDemoSiteFile.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import { passphraseEnv, type SiteReadingAnswer } from './demoSiteProcess.ts'
import { toLedgerInterval } from '../market/toLedgerInterval.ts'
import { writeMarketLedger } from '../market/writeMarketLedger.ts'

const here = dirname(fileURLToPath(import.meta.url))

/** A demo step that failed; says which interval and site. */
export class DemoError extends BaseError {
  override name = 'DemoError' as const
}

/** What a market demo run does: `gridmesh market demo`'s flags. */
export type MarketDemoOptions = {
  sites: number
  /** market intervals to run; Infinity (--until-stopped) runs until SIGINT/SIGTERM or `seams.signal` (the single-site demo's peers) */
  intervals: number
  /** at least this much real time per interval (--pace-ms; default 0: as fast as the sites step) */
  paceMs: number
  json: boolean
  seed: number
  keyDir: string | null
  startHour: number
  site: string | null
  ledger: string | null
}

function parseArgs(argv: string[]): MarketDemoOptions {
  const options: MarketDemoOptions = { sites: 3, intervals: 4, paceMs: 0, json: false, seed: 1, keyDir: null, startHour: 11, site: null, ledger: null }
  let untilStopped = false
  const int = (flag: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value)
    if (value === undefined || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`gridmesh market demo: ${flag}: expected an integer ${min}-${max}, got ${value ?? 'nothing'}`)
    return n
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--json') options.json = true
    else if (flag === '--until-stopped') untilStopped = true
    else if (flag === '--pace-ms') options.paceMs = int(flag, argv[++i], 0, 3_600_000)
    else if (flag === '--sites') options.sites = int(flag, argv[++i], 2, 8)
    else if (flag === '--intervals') options.intervals = int(flag, argv[++i], 1, 96)
    else if (flag === '--seed') options.seed = int(flag, argv[++i], 0, 2 ** 31 - 1)
    else if (flag === '--start-hour') options.startHour = int(flag, argv[++i], 0, 23)
    else if (flag === '--key-dir') {
      const value = argv[++i]
      if (!value) throw new UsageError(`gridmesh market demo: --key-dir: expected a directory, got nothing`)
      options.keyDir = value
    } else if (flag === '--site') {
      const value = argv[++i]
      if (!value) throw new UsageError(`gridmesh market demo: --site: expected a site file, got nothing`)
      options.site = value
    } else if (flag === '--ledger') {
      const value = argv[++i]
      if (!value) throw new UsageError(`gridmesh market demo: --ledger: expected a file for the market ledger (the HMI's GET /api/market), got nothing`)
      options.ledger = value
    } else throw new UsageError(`gridmesh market demo: unknown option '${flag}'; expected --sites N, --intervals N, --until-stopped, --pace-ms N, --seed N, --start-hour H, --key-dir DIR, --site FILE, --ledger FILE, --json`)
  }
  if (untilStopped) options.intervals = Number.POSITIVE_INFINITY
  return options
}

/** Seams: where the demo's files go, what reaches a site process, and how a live demo (gridmesh demo) runs the market beside its site. */
export type RunDemoOptions = {
  /** parent of the demo's temporary directory (default the OS temp directory) */
  workDir?: string
  /** the hardware of each site (default chooseDemoHardware) */
  hardware?: (siteId: number) => DemoHardware
  /** ends the run after the interval in progress (its sites and chain are stopped; intervals settled so far stay in the ledger) */
  signal?: AbortSignal
  /** where the progress lines go (default stdout, none with --json) */
  log?: (line: string) => void
}

/** How a run its signal aborted leaves the steps in progress (runMarket then returns 0). */
class MarketDemoStopped extends BaseError {
  override name = 'MarketDemoStopped' as const
}

type SiteHandle = { siteId: number; child: ChildProcess; ask<T>(req: SiteRequest, timeoutMs?: number): Promise<T> }

function spawnSite(siteId: number, passphrase: string, workDir: string): SiteHandle {
  // The work directory on the command line: a process listing shows which demo a site belongs to.
  // Compiled (dist/, the packaged app): the site's .js runs on plain Node; from sources, through tsx.
  const compiled = import.meta.url.endsWith('.js')
  const entry = compiled ? [join(here, 'demoSiteProcess.js')] : [join(here, '..', '..', 'bin', 'run-ts.js'), join(here, 'demoSiteProcess.ts')]
  const child = spawn(process.execPath, [...entry, workDir], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, [passphraseEnv]: passphrase },
  })
  // A site that died cannot take its stdin: the 'close' below reports it.
  child.stdin!.on('error', () => {})
  const waiting: ((line: string) => void)[] = []
  createInterface({ input: child.stdout! }).on('line', (line) => waiting.shift()?.(line))
  const ask = <T>(req: SiteRequest, timeoutMs = 120_000) =>
    new Promise<T>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer)
        child.off('close', onClose)
        child.off('error', onError)
      }
      // 'close', not 'exit': a site's last line (its error) is read before its pipes close.
      const onClose = (code: number | null) => {
        done()
        reject(new DemoError(`site ${siteId}: process exited with code ${code} while answering '${req.type}'`))
      }
      const onError = (error: Error) => {
        done()
        reject(new DemoError(`site ${siteId}: cannot run its process: ${error.message}`, { cause: error }))
      }
      const timer = setTimeout(() => {
        done()
        reject(new DemoError(`site ${siteId}: no answer to '${req.type}' within ${timeoutMs / 1000} s`))
      }, timeoutMs)
      child.once('close', onClose)
      child.once('error', onError)
      waiting.push((line) => {
        done()
        let answer: { type: string; message?: string }
        try {
          answer = fromJsonLine(line)
        } catch (cause) {
          return reject(new DemoError(`site ${siteId}: answered '${req.type}' with a line that is not JSON: ${line.slice(0, 80)}`, { cause }))
        }
        if (answer.type === 'error') reject(new DemoError(`site ${siteId}: ${String(answer.message).replace(/^site [^:]*: /, '')} (answering '${req.type}')`))
        else resolve(answer as T)
      })
      const line = toJsonLine(req)
      child.stdin!.write(line)
    })
  return { siteId, child, ask }
}

/** Ends a site process: 'bye' (unless `now`), then SIGTERM, then SIGKILL; each site stops its own simulators on the way out. */
async function stopSite(h: SiteHandle, now = false): Promise<void> {
  const closed = (ms: number) =>
    h.child.exitCode !== null || h.child.signalCode !== null
      ? Promise.resolve(true)
      : new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms)
          h.child.once('close', () => {
            clearTimeout(timer)
            resolve(true)
          })
        })
  if (!now && h.child.exitCode === null && h.child.signalCode === null && h.child.stdin!.writable) h.child.stdin!.end(toJsonLine({ type: 'bye' }))
  if (!now && (await closed(15_000))) return
  if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGTERM')
  // A site stops its simulator on SIGTERM and waits for it; on a loaded machine that takes
  // seconds, and a SIGKILL before it ends would leave the simulator running.
  if (await closed(30_000)) return
  h.child.kill('SIGKILL')
  await closed(5_000)
}

const localHour = (timeZone: string, utcMs: number) => Number(new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' }).format(utcMs))

/** Runs the demo; returns the exit code. SIGINT or SIGTERM ends it after stopping its sites and chain (the single-site demo runs it so, in a process of its own). */
export async function runMarketDemo(argv: string[], options: RunDemoOptions = {}): Promise<number> {
  const opts = parseArgs(argv)
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  // Caught for the whole run: Ctrl-C and the single-site demo's SIGTERM may both arrive.
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await runMarket(opts, { ...options, signal: options.signal ?? stop.signal })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** Runs the market demo with typed options (the single-site demo runs its peers with it); returns the exit code. */
export async function runMarket(opts: MarketDemoOptions, options: RunDemoOptions = {}): Promise<number> {
  const log = (line: string) => {
    if (options.log) options.log(line)
    else if (!opts.json) process.stdout.write(`${line}\n`)
  }
  const { signal } = options
  /** Resolves as `work` does, or rejects once the signal aborts (the work is left to the cleanup below). */
  const unlessStopped = <T>(work: Promise<T>): Promise<T> => {
    if (!signal) return work
    // After a stop the work runs out on its own; how it ends is the cleanup's business, never an unhandled rejection.
    work.catch(() => undefined)
    if (signal.aborted) return Promise.reject(new MarketDemoStopped('the market demo was stopped'))
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(new MarketDemoStopped('the market demo was stopped'))
      signal.addEventListener('abort', onAbort, { once: true })
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort))
    })
  }
  const dir = mkdtempSync(join(options.workDir ?? tmpdir(), 'gridmesh-demo-'))
  const handles: SiteHandle[] = []
  let chain: OpenedChain | null = null
  let opening: Promise<OpenedChain> | null = null
  let closeOutbox = () => {}
  try {
    // the chain the operator's site file names (market.chain: the embedded anvil, or any
    // EVM JSON-RPC URL); the demo deploys a fresh market on it every run, from a data
    // folder of its own, and needs a chain whose clock it can move (anvil)
    const settings = (opts.site ? loadSiteFile(opts.site).market : undefined) ?? siteMarketSchema.parse({})
    const marketDir = join(dir, 'market')
    opening = openChain({ chain: settings.chain, dataDir: marketDir })
    chain = await unlessStopped(opening)
    // every key file of the run (operator and sites) is sealed with it; only environments carry it
    const passphrase = process.env[passphraseEnv] || randomBytes(24).toString('base64url')
    const opened = await unlessStopped(openMarket({ chain, settings, dataDir: marketDir, passphrase }))
    const { warpTo } = opened
    if (!warpTo) throw new DemoError(`chain ${chain.chainId} at ${redactRpcUrl(chain.rpcUrl)} cannot move its clock; the demo runs hours of market in seconds and needs a dev chain (anvil)`)
    const lm = { ...opened, warpTo }
    const caps = { importCapWh: 5_000, exportCapWh: 5_000 }
    const deposit = 100_000_000n // 100 tokens of 6 decimals per site
    log(`market ${lm.market} on ${chain.embedded ? 'the embedded anvil ' : ''}${redactRpcUrl(chain.rpcUrl)} (chain ${chain.chainId}); token ${lm.token}`)

    // The sites share the demo site's town and weather. The market opens at the next
    // --start-hour local time on the chain (a fresh chain: moving its clock on is free), so
    // the simulated sun is up whatever the time of day the demo runs at.
    const { timezone } = readDemoSiteTemplate().location
    const nowS = Number((await lm.client.getBlock()).timestamp)
    let openS = Math.ceil((nowS + 600) / 3600) * 3600
    while (localHour(timezone, openS * 1000) !== opts.startHour) openS += 3600
    const first = (BigInt(openS) - lm.config.genesis + lm.config.intervalSec - 1n) / lm.config.intervalSec
    await lm.warpTo(lm.intervalStart(first) - 300n)
    const startMs = Number(lm.intervalStart(first)) * 1000
    log(`market opens at ${new Date(startMs).toISOString()} (the first interval from ${opts.startHour}:00 in ${timezone}); each site's simulator measures the day before and waits there, paused`)

    const sites: { siteId: number; owner: Address; meter: Address; hardware: DemoHardware }[] = []
    // each site seals its keys in its own scrypt key files; the passphrase reaches it only
    // through its environment and the coordinator sees addresses only
    // (GRIDMESH_KEYSTORE_PASSPHRASE and --key-dir keep the key files across runs)
    for (let siteId = 0; siteId < opts.sites; siteId++) handles.push(spawnSite(siteId, passphrase, join(dir, `site-${siteId}`)))
    const hardware = handles.map((h) => (options.hardware ?? chooseDemoHardware)(h.siteId))
    // a hello takes the keys' scrypt, a simulator's start and a day's history pass
    const helloTimeoutMs = 300_000
    const keys = await unlessStopped(Promise.all(
      handles.map((h) =>
        h.ask<{ owner: Address; meter: Address }>(
          {
            type: 'hello',
            siteId: h.siteId,
            seed: opts.seed,
            domain: lm.domain,
            keyDir: join(opts.keyDir ?? join(dir, 'keys'), `site-${h.siteId}`),
            genesisS: lm.config.genesis,
            intervalSec: lm.config.intervalSec,
            startMs,
            hardware: hardware[h.siteId]!,
            ...caps,
          },
          helloTimeoutMs,
        ),
      ),
    ))
    for (const [siteId, k] of keys.entries()) {
      sites.push({ siteId, owner: k.owner, meter: k.meter, hardware: hardware[siteId]! })
      const hw = hardware[siteId]!
      log(`site ${siteId}: owner ${k.owner}, meter ${k.meter}; PV ${hw.pvRatedW / 1000} kW, battery ${hw.batteryCapacityWh / 1000} kWh at ${hw.initialSocPct} %, load peak ${hw.loadPeakW / 1000} kW`)
      await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'registerSite', args: [k.owner, k.meter, caps.importCapWh, caps.exportCapWh] })
    }
    const total = deposit * BigInt(opts.sites)
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'mint', args: [lm.operator.address, total] })
    await lm.wallet.writeContract({ address: lm.token, abi: settlementTokenAbi, functionName: 'approve', args: [lm.market, total] })
    for (const s of sites) {
      const hash = await lm.wallet.writeContract({ address: lm.market, abi: energyMarketAbi, functionName: 'deposit', args: [s.siteId, deposit] })
      await lm.client.waitForTransactionReceipt({ hash })
    }
    // a site's escrow is its free balance plus its reserved bond (the contract keeps them apart)
    const escrowOf = async (siteId: number) => {
      const read = (functionName: 'balanceOf' | 'bondOf') => lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName, args: [siteId] })
      const [free, bond] = await Promise.all([read('balanceOf'), read('bondOf')])
      return free + bond
    }
    const balances = () => Promise.all(sites.map((s) => escrowOf(s.siteId)))
    const initial = await balances()
    if ((await lm.nextInterval()) !== first) throw new DemoError(`the chain moved past the start of interval ${first} while the sites started; expected it to still take orders for it`)
    const outbox = createOutbox({ path: join(dir, 'outbox.db'), client: lm.client, account: lm.operator, chainId: chain.chainId, abi: energyMarketAbi })
    closeOutbox = () => outbox.close()

    const intervals: ({ interval: bigint } & Record<string, unknown>)[] = []
    let commitGasTotal = 0n
    let settleGasTotal = 0n
    let finalizeGasTotal = 0n
    const settled: Finalization[] = []
    const settledAtS = new Map<bigint, bigint>()
    const ledgerIntervals: MarketLedger['intervals'] = []
    let tradesTotal = 0
    type OrderAnswer = { order: SignedOrder | null; planned: PlannedMarketSlot & { planStatus: string; planAtMs: number } }
    /** Orders, clearing (every site must agree) and, when something trades, its commit. */
    const prepare = async (interval: bigint) => {
      const deadline = lm.intervalStart(interval)
      const answers = await Promise.all(handles.map((h) => h.ask<OrderAnswer>({ type: 'order', interval, deadline })))
      const orders = answers.flatMap((a) => (a.order ? [a.order] : []))
      const clearing = clearAuction(interval, orders)
      const acks = await Promise.all(handles.map((h) => h.ask<{ agrees: boolean }>({ type: 'clearing', orders, clearing })))
      const disagreeing = acks.flatMap((a, i) => (a.agrees ? [] : [i]))
      if (disagreeing.length) throw new DemoError(`interval ${interval}: sites ${disagreeing.join(', ')} computed a different clearing; expected every site to agree`)
      if (clearing.price === null) return { interval, answers, orders, clearing, committed: null }
      const encoded = encodeClearing(clearing, orders)
      const commitHash = await commitClearing(lm.wallet, lm.market, encoded)
      const commitReceipt = await lm.client.waitForTransactionReceipt({ hash: commitHash })
      if (commitReceipt.status !== 'success') throw new DemoError(`interval ${interval}: commit ${commitHash} reverted`)
      const siteRefs = await committedSiteRefs(lm.client, lm.market, encoded, commitReceipt)
      return { interval, answers, orders, clearing, committed: { encoded, commitGas: commitReceipt.gasUsed, siteRefs, commitTx: commitHash } }
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

    /** After the interval ended on chain: every site steps its simulator and loop to the end and signs its meter's reading; the traders' settle through the outbox. */
    const deliverAndSettle = async (p: Awaited<ReturnType<typeof prepare>>) => {
      const { interval, clearing } = p
      const delivered = await Promise.all(handles.map((h) => h.ask<SiteReadingAnswer>({ type: 'reading', interval })))
      const siteRows = delivered.map((d, i) => ({
        siteId: i,
        planned: p.answers[i]!.planned,
        order: p.answers[i]!.order && { side: p.answers[i]!.order!.side === 0 ? 'bid' : 'ask', energyWh: p.answers[i]!.order!.energyWh, limitPrice: p.answers[i]!.order!.limitPrice },
        committedNetSellWh: d.committedNetSellWh,
        metered: { importWh: d.reading.importWh, exportWh: d.reading.exportWh },
        meterCounters: d.meter,
        simEnergyWh: d.sim,
        socPct: d.socPct,
      }))
      const siteLines = siteRows.map((r) => {
        const planWh = r.planned.plannedNetImportWh
        const plan = planWh > 0 ? `plan buys ${planWh} Wh` : planWh < 0 ? `plan sells ${-planWh} Wh` : 'plan trades nothing'
        const traded = r.committedNetSellWh ? (r.committedNetSellWh > 0 ? `, sold ${r.committedNetSellWh} Wh` : `, bought ${-r.committedNetSellWh} Wh`) : ''
        return `  site ${r.siteId}: ${plan}${traded}; meter import ${r.metered.importWh} Wh, export ${r.metered.exportWh} Wh; SoC ${r.socPct === null ? '-' : Math.round(r.socPct)} %`
      })
      // what the HMI's market view shows (--ledger): signed orders and readings, clearing, transactions
      const ledgerEntry = (tx: { settleTx: `0x${string}`; commitTx: `0x${string}`; settledAtS: bigint } | null) =>
        ledgerIntervals.push(toLedgerInterval({ interval, startMs: Number(lm.intervalStart(interval)) * 1000, endMs: Number(lm.intervalStart(interval + 1n)) * 1000, orders: p.orders, clearing, readings: delivered.map((d) => d.reading), commitTx: tx?.commitTx ?? null, settleTx: tx?.settleTx ?? null, disputeWindowEndsAtMs: tx ? Number(tx.settledAtS + lm.config.disputeWindowSec) * 1000 : null }))
      if (!p.committed) {
        ledgerEntry(null)
        log(`interval ${interval}: ${p.orders.length} orders, no trade`)
        for (const line of siteLines) log(line)
        intervals.push({ interval, orders: p.orders.length, price: null, trades: [], sites: siteRows })
        return
      }
      const { encoded, siteRefs, commitGas } = p.committed
      const readings = encoded.siteIds.map((id) => delivered[id]!.reading)
      const key = `settle:${lm.market}:${interval}`
      const { hash: settleTx, receipt: settleReceipt } = await send(
        key,
        encodeFunctionData({
          abi: energyMarketAbi,
          functionName: 'settle',
          args: settleArgs({ clearing: encoded, siteRefs, readings }),
        }),
        `interval ${interval}: settlement`,
      )
      const settledAt = (await lm.client.getBlock({ blockNumber: settleReceipt.blockNumber })).timestamp
      settledAtS.set(interval, settledAt)
      ledgerEntry({ settleTx, commitTx: p.committed.commitTx, settledAtS: settledAt })
      commitGasTotal += commitGas
      settleGasTotal += settleReceipt.gasUsed
      tradesTotal += clearing.matches.length
      settled.push(buildFinalization({ clearing: encoded, siteRefs, readings, penaltyBps: lm.config.penaltyBps }))
      // what finalize will credit on top of the locks, by the same rule the contract applies
      const matches = encoded.matches.map((m) => ({ sellerPos: Number((m >> 40n) & 0xffn), buyerPos: Number((m >> 32n) & 0xffn), energyWh: Number(m & 0xffffffffn) }))
      const model = computeSettlement({ price: encoded.price, penaltyBps: lm.config.penaltyBps, readings, matches })
      const deltas = Object.fromEntries(encoded.siteIds.map((id, k) => [id, model.deltas[k]!]))
      log(
        `interval ${interval}: price ${Number(clearing.price) / 1e6} /kWh, ${clearing.matches.length} trades, ${clearing.tradedWh} Wh; ` +
          `commit ${commitGas} gas, settle ${settleReceipt.gasUsed} gas; deltas ${JSON.stringify(deltas, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`,
      )
      for (const line of siteLines) log(line)
      intervals.push({
        interval,
        orders: p.orders.length,
        price: clearing.price,
        trades: clearing.matches,
        readings: readings.map(({ siteId, importWh, exportWh }) => ({ siteId, importWh, exportWh })),
        balanceDeltas: deltas,
        commitGas,
        settleGas: settleReceipt.gasUsed,
        settleTx,
        sites: siteRows,
      })
    }

    const chainSummary = { rpcUrl: redactRpcUrl(chain.rpcUrl), chainId: chain.chainId, embedded: chain.embedded, market: lm.market, token: lm.token }
    /** The ledger as it stands (the HMI's market view re-reads the file): written after every interval and at the end. */
    const writeLedger = (file: string, after: readonly bigint[]) =>
      writeMarketLedger(file, {
        version: 1, source: 'market-demo', writtenAtMs: Date.now(), chain: chainSummary, intervalSec: Number(lm.config.intervalSec), disputeWindowSec: Number(lm.config.disputeWindowSec),
        sites: sites.map(({ siteId, owner, meter }) => ({ siteId, owner, meter })),
        intervals: [...ledgerIntervals].sort((a, b) => (BigInt(a.interval) < BigInt(b.interval) ? -1 : 1)),
        balances: sites.map((s, i) => ({ siteId: s.siteId, before: initial[i]!.toString(), after: after[i]!.toString() })),
      })
    /** Finalizes the settled intervals whose dispute window has ended by chain time `nowS`. */
    const finalizeDue = async (nowS: bigint) => {
      for (const f of settled.filter((x) => settledAtS.get(x.interval)! + lm.config.disputeWindowSec <= nowS)) {
        const { receipt, hash: finalizeTx } = await send(
          `finalize:${lm.market}:${f.interval}`,
          encodeFunctionData({ abi: energyMarketAbi, functionName: 'finalize', args: finalizeArgs(f) }),
          `interval ${f.interval}: finalization`,
        )
        finalizeGasTotal += receipt.gasUsed
        finalizedCount++
        settled.splice(settled.indexOf(f), 1)
        const entry = ledgerIntervals.find((e) => e.interval === f.interval.toString())
        if (entry) entry.settlement = { ...entry.settlement, state: 'finalized', finalizeTx }
      }
    }
    // A run until stopped finalizes as it goes; a run of N intervals once after the last.
    const rolling = !Number.isFinite(opts.intervals)
    let finalizedCount = 0

    // pipelined like a live market: interval i+1 is cleared (and committed) while i runs,
    // i is delivered and settled once it ended
    let prepared = await unlessStopped(prepare(first))
    await lm.warpTo(lm.intervalStart(first))
    let intervalDueMs = performance.now()
    for (let n = 0; n < opts.intervals && !signal?.aborted; n++) {
      const interval = first + BigInt(n)
      if (n > 0 && opts.paceMs) {
        intervalDueMs += opts.paceMs
        await unlessStopped(new Promise((r) => setTimeout(r, Math.max(0, intervalDueMs - performance.now()))))
      }
      const next = n + 1 < opts.intervals ? await unlessStopped(prepare(interval + 1n)) : null
      await lm.warpTo(lm.intervalStart(interval + 1n))
      await unlessStopped(deliverAndSettle(prepared))
      if (rolling) await unlessStopped(finalizeDue((await lm.client.getBlock()).timestamp))
      if (opts.ledger) writeLedger(opts.ledger, await balances())
      if (next) prepared = next
    }
    if (signal?.aborted) return 0
    // nothing is credited before the dispute window has passed: then finalize every
    // settled interval (balances before this are free escrow minus the open locks)
    await lm.warpTo((await lm.client.getBlock()).timestamp + lm.config.disputeWindowSec)
    await finalizeDue((await lm.client.getBlock()).timestamp)
    log(`finalized ${finalizedCount} intervals after the dispute window: ${finalizeGasTotal} gas`)
    const final = await balances()
    const summary = {
      chain: chainSummary,
      start: { iso: new Date(startMs).toISOString(), timezone, localHour: opts.startHour, seed: opts.seed },
      sites,
      intervals: intervals.sort((a, b) => (a.interval < b.interval ? -1 : 1)),
      balancesBefore: sites.map((s, i) => ({ siteId: s.siteId, balance: initial[i]! })),
      balances: sites.map((s, i) => ({ siteId: s.siteId, balance: final[i]! })),
      gas: {
        commitTotal: commitGasTotal,
        settleTotal: settleGasTotal,
        finalizeTotal: finalizeGasTotal,
        trades: tradesTotal,
        settleGasPerTrade: tradesTotal ? Number(settleGasTotal) / tradesTotal : null,
      },
    }
    if (opts.ledger) {
      writeLedger(opts.ledger, final)
      log(`market ledger written to ${opts.ledger} (for the HMI: serve --market-ledger ${opts.ledger})`)
    }
    if (opts.json) process.stdout.write(toJsonLine(summary).replace(/\{"\$bigint":"(-?\d+)"\}/g, '"$1"'))
    else log(`balances: ${summary.balances.map((b) => `site ${b.siteId} ${Number(b.balance) / 1e6}`).join(', ')}; settle gas per trade ${summary.gas.settleGasPerTrade ?? '-'}`)
    return 0
  } catch (error) {
    if (error instanceof MarketDemoStopped) return 0
    throw error
  } finally {
    // A stopped run does not wait for its sites to finish what they were asked.
    await Promise.all(handles.map((h) => stopSite(h, signal?.aborted)))
    // a chain still starting when the run was stopped is stopped once it is up
    await (chain ?? (await opening?.catch(() => null)))?.stop()
    closeOutbox()
    rmSync(dir, { recursive: true, force: true })
  }
}
