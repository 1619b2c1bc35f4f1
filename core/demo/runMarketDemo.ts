// `gridmesh market demo`: N sites trading on the live path (issue 15), on one machine and
// the simulated clock. liveDemoCommunity sets the community up (an anvil whose clock
// follows the simulated one, the market deployed, every site's keys made and registered,
// the embedded broker, the operator in this process) with EVERY site a peer: a `gridmesh
// serve --sim-clock` on its own simulator, planning, ordering, delivering and signing its
// meter's readings as a real site does. The demo lets the simulators run, waits until every
// site has joined, watches the operator clear N intervals, waits until what traded is
// settled and finalized, stops everything and prints what the chain and the operator's
// ledger say: trades, settlements, balances and gas.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createPublicClient, http, type Hex } from 'viem'
import { readEscrow } from '../chain/readEscrow.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import { siteRuntimeDefaults } from '../control/createSiteRuntime.ts'
import { loadSiteFile } from '../devices/site/loadSiteFile.ts'
import { UsageError } from '../errors/BaseError.ts'
import { settleClearing } from '../market/computeSettlement.ts'
import { toJsonLine } from '../market/jsonLines.ts'
import type { MarketLedger } from '../market/marketLedgerSchema.ts'
import { writeMarketLedger } from '../market/writeMarketLedger.ts'
import { DemoError } from './DemoError.ts'
import type { DemoHardware } from './demoSite/chooseDemoHardware.ts'
import { readDemoSiteTemplate } from './demoSite/writeDemoSiteFile.ts'
import { liveDemoCommunity } from './liveDemoCommunity.ts'
import { liveSimulatorClock } from './liveSimulatorClock.ts'
import { runSimulators } from './runSimulators.ts'

/** What a market demo run does: `gridmesh market demo`'s flags. */
export type MarketDemoOptions = {
  sites: number
  /** market intervals to run; Infinity (--until-stopped) runs until SIGINT/SIGTERM */
  intervals: number
  json: boolean
  seed: number
  keyDir: string | null
  startHour: number
  site: string | null
  ledger: string | null
}

/** Time warp of every site's simulator: a 15-minute interval every 15 real seconds (gridmesh demo's). */
export const marketDemoSpeed = 60
/** How long a settlement can be disputed: one interval, so a run finalizes what it traded a few intervals after its last. */
const disputeWindowSec = siteRuntimeDefaults.slotMs / 1000

function parseArgs(argv: string[]): MarketDemoOptions {
  const options: MarketDemoOptions = { sites: 3, intervals: 4, json: false, seed: 1, keyDir: null, startHour: 11, site: null, ledger: null }
  let untilStopped = false
  const int = (flag: string, value: string | undefined, min: number, max: number) => {
    const n = Number(value)
    if (value === undefined || !Number.isInteger(n) || n < min || n > max)
      throw new UsageError(`gridmesh market demo: ${flag}: expected an integer ${min}-${max}, got ${value ?? 'nothing'}`)
    return n
  }
  const text = (flag: string, value: string | undefined, what: string) => {
    if (!value) throw new UsageError(`gridmesh market demo: ${flag}: expected ${what}, got nothing`)
    return value
  }
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    if (flag === '--json') options.json = true
    else if (flag === '--until-stopped') untilStopped = true
    else if (flag === '--sites') options.sites = int(flag, argv[++i], 2, 8)
    else if (flag === '--intervals') options.intervals = int(flag, argv[++i], 1, 96)
    else if (flag === '--seed') options.seed = int(flag, argv[++i], 0, 2 ** 31 - 1)
    else if (flag === '--start-hour') options.startHour = int(flag, argv[++i], 0, 23)
    else if (flag === '--key-dir') options.keyDir = text(flag, argv[++i], 'a directory')
    else if (flag === '--site') options.site = text(flag, argv[++i], 'a site file')
    else if (flag === '--ledger') options.ledger = text(flag, argv[++i], "a file for the market ledger (the HMI's GET /api/market)")
    else throw new UsageError(`gridmesh market demo: unknown option '${flag}'; expected --sites N, --intervals N, --until-stopped, --seed N, --start-hour H, --key-dir DIR, --site FILE, --ledger FILE, --json`)
  }
  if (untilStopped) options.intervals = Number.POSITIVE_INFINITY
  return options
}

/** Seams of a run: where its files go, the sites' hardware, how it is stopped and where its lines go. */
export type RunDemoOptions = {
  /** parent of the demo's temporary directory (default the OS temp directory) */
  workDir?: string
  /** the hardware of the n-th site (default chooseDemoHardware) */
  hardware?: (n: number) => DemoHardware
  /** ends the run after what it waits for now (everything is stopped; the summary says what happened so far) */
  signal?: AbortSignal
  /** where the progress lines go (default stdout, none with --json) */
  log?: (line: string) => void
}

/** Runs the demo; returns the exit code. SIGINT or SIGTERM ends it after stopping its sites and chain. */
export async function runMarketDemo(argv: string[], options: RunDemoOptions = {}): Promise<number> {
  const opts = parseArgs(argv)
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    return await runMarket(opts, { ...options, signal: options.signal ?? stop.signal })
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

/** The first whole hour at or after `ms` that is `hour` o'clock in `timeZone`. */
function nextLocalHour(timeZone: string, ms: number, hour: number): number {
  const hourMs = 3_600_000
  const format = new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', hourCycle: 'h23' })
  let t = Math.ceil(ms / hourMs) * hourMs
  while (Number(format.format(t)) !== hour) t += hourMs
  return t
}

/** Runs the market demo with typed options; returns the exit code. */
export async function runMarket(opts: MarketDemoOptions, options: RunDemoOptions = {}): Promise<number> {
  const log = (line: string) => {
    if (options.log) options.log(line)
    else if (!opts.json) process.stdout.write(`${line}\n`)
  }
  const { signal } = options
  const stopped = () => signal?.aborted === true
  /** Real-time sleep that a stop cuts short. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      function done() {
        clearTimeout(timer)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      signal?.addEventListener('abort', done, { once: true })
    })
  const started = performance.now()
  const took = () => `${((performance.now() - started) / 1000).toFixed(1)} s`
  log(`seed ${opts.seed} (weather of every site's simulator; --seed N)`)
  const dir = mkdtempSync(join(options.workDir ?? tmpdir(), 'gridmesh-demo-'))
  let community: Awaited<ReturnType<typeof liveDemoCommunity>> | null = null
  try {
    // the chain the operator's site file names (market.chain; default a fresh anvil): the demo moves its clock, so it must be anvil
    const chain = opts.site ? loadSiteFile(opts.site).market?.chain : undefined
    const external = chain && chain !== 'embedded' ? chain : undefined
    let latestMs = Date.now()
    if (external) {
      try {
        const block = await createPublicClient({ transport: http(external.rpcUrl, { retryCount: 0, timeout: 10_000 }) }).getBlock()
        latestMs = Math.max(latestMs, Number(block.timestamp) * 1000)
      } catch (cause) {
        throw new DemoError(`${opts.site}: market.chain.rpcUrl: cannot reach the chain at ${redactRpcUrl(external.rpcUrl)}: ${(cause as Error).message.split('\n')[0]}`, { cause })
      }
    }
    // The sites share the demo site's town and weather; the market opens at the next
    // --start-hour there, so the simulated sun is up whatever the time of day the demo runs at.
    const { timezone } = readDemoSiteTemplate().location
    const startMs = nextLocalHour(timezone, latestMs, opts.startHour)
    log(`market opens at ${new Date(startMs).toISOString()} (${opts.startHour}:00 in ${timezone}) on the simulated clock, ${marketDemoSpeed}x: one 15-minute interval every ${900 / marketDemoSpeed} real s`)
    community = await liveDemoCommunity({
      dataDir: dir,
      startMs,
      peers: opts.sites,
      hostSite: false,
      seed: opts.seed,
      log,
      disputeWindowSec,
      ...(external && { chain: external }),
      ...(options.hardware && { hardware: options.hardware }),
      keyDir: opts.keyDir,
    })
    const c = community
    const { config } = c
    const intervalOf = (ms: number) => Math.floor((ms / 1000 - config.genesisS) / config.intervalSec)
    const intervalStartMs = (i: number) => (config.genesisS + i * config.intervalSec) * 1000
    const client = createPublicClient({ transport: http(c.chain.rpcUrl) })
    const receipt = receiptsOf(client)
    // a site's escrow: its free balance plus its bond (the locks of committed, unfinalized intervals are out of it until finalize)
    const escrow = (blockNumber?: bigint) => Promise.all(c.sites.map(({ siteId }) => readEscrow(client, c.chain.market, siteId, blockNumber)))
    const before = await escrow()

    // every simulator runs from the same moment: the sites share one simulated now, which the chain and the operator follow
    await runSimulators(c.peerSimApiUrls, marketDemoSpeed)
    const clock = await liveSimulatorClock({ apiUrl: c.peerSimApiUrls[0]! })
    await c.run(clock.now)
    const view = c.operatorView()!
    const said = (siteId: number) => {
      const lines = c.peerServes.find((x) => x.siteId === siteId)!.lastLines()
      return lines.length ? `; its last lines: ${lines.join(' | ')}` : ''
    }
    let exited: string | null = null
    for (const p of c.peerServes) void p.exited.then((code) => void (exited ??= `site ${p.siteId}: its serve exited (${code}) while the demo ran${said(p.siteId)}`))
    const check = () => {
      if (exited) throw new DemoError(exited)
    }

    // every site's serve has joined the broker (signed presence): then the run's intervals are the next ones whose gates it can make
    const joinBy = performance.now() + 180_000
    for (;;) {
      check()
      const online = new Set(view.status().presence.flatMap((x) => (x.role === 'site' && x.online ? [x.siteId] : [])))
      const missing = c.sites.filter((s) => !online.has(s.siteId)).map((s) => s.siteId)
      if (!missing.length || stopped()) break
      if (performance.now() > joinBy) throw new DemoError(`sites ${missing.join(', ')}: not on the market's broker within 180 s of starting; expected every serve to join${missing.map((id) => ` (site ${id}${said(id) || ': no market line'})`).join('')}`)
      await sleep(500)
    }
    // the interval after next: its gate leaves every site a whole interval to plan and order, and its meter is sampled at its start
    const first = intervalOf(clock.now()) + 2
    const last = first + opts.intervals - 1
    log(`every site joined in ${took()}; the run trades interval ${first} (${new Date(intervalStartMs(first)).toISOString()})${Number.isFinite(last) ? ` to ${last}` : ' on until stopped'}`)

    const runIntervals = (ledger: MarketLedger) => ledger.intervals.filter((i) => Number(i.interval) >= first && Number(i.interval) <= Math.min(last, intervalOf(clock.now())))
    /**
     * The operator's ledger of the run's intervals, with every site, its escrow before the run
     * and at a recent block, and what the intervals committed by then and not finalized lock
     * of it (the sites go on trading past the run's intervals). The ledger is read a second
     * after the block, so the operator has seen that block's receipts.
     */
    const ledgerNow = async (): Promise<MarketLedger> => {
      const atBlock = await client.getBlockNumber()
      await sleep(1_000)
      const ledger = view.ledger()
      const after = await escrow(atBlock)
      const locked = new Map<number, bigint>()
      const minedBy = async (tx: string | null) => tx !== null && (await receipt(tx)).blockNumber <= atBlock
      for (const i of ledger.intervals) {
        if (i.clearingPrice === null || !(await minedBy(i.settlement.commitTx)) || (await minedBy(i.settlement.finalizeTx))) continue
        const { siteIds, locks } = settlementOf(i, config.penaltyBps)
        for (const [k, id] of siteIds.entries()) locked.set(id, (locked.get(id) ?? 0n) + locks[k]!)
      }
      return {
        ...ledger,
        sites: c.sites.map(({ siteId, owner, meter }) => ({ siteId, owner, meter })),
        intervals: runIntervals(ledger),
        balances: c.sites.map((s, k) => ({ siteId: s.siteId, before: before[k]!.toString(), after: after[k]!.toString(), locked: (locked.get(s.siteId) ?? 0n).toString() })),
      }
    }
    const writeLedger = async () => {
      if (opts.ledger) writeMarketLedger(opts.ledger, await ledgerNow())
    }

    // the run's intervals, the ledger written after each
    let seen = intervalOf(clock.now())
    while (!stopped() && intervalOf(clock.now()) <= last) {
      check()
      const now = intervalOf(clock.now())
      if (now !== seen) {
        seen = now
        if (now > first) await writeLedger()
      }
      await sleep(250)
    }
    // what traded is settled, and finalized once its dispute window has passed (a few intervals on)
    const settledBy = intervalStartMs(last + 1) + (2 * config.intervalSec + config.disputeWindowSec + 3 * config.intervalSec) * 1000
    let open: string[] = []
    while (!stopped()) {
      check()
      open = runIntervals(view.ledger()).flatMap((i) => (i.clearingPrice !== null && i.settlement.state !== 'finalized' ? [`${i.interval} (${i.settlement.state === 'settled' ? 'settled' : 'committed'})`] : []))
      if (!open.length) break
      if (clock.now() > settledBy) throw new DemoError(`intervals ${open.join(', ')}: not finalized by ${new Date(settledBy).toISOString()} (simulated), the settle and dispute windows past; see the operator's lines above`)
      await sleep(500)
    }
    const ledger = await ledgerNow()
    if (opts.ledger) {
      writeMarketLedger(opts.ledger, ledger)
      log(`market ledger written to ${opts.ledger} (for the HMI: serve --market-ledger ${opts.ledger})`)
    }
    const summary = await summarize(ledger, { receipt, penaltyBps: config.penaltyBps })
    const report = {
      chain: ledger.chain,
      start: { iso: new Date(startMs).toISOString(), timezone, localHour: opts.startHour, seed: opts.seed, speed: marketDemoSpeed, firstInterval: first },
      sites: c.sites,
      ...summary,
      balancesBefore: ledger.balances.map((b) => ({ siteId: b.siteId, balance: b.before })),
      balances: ledger.balances.map((b) => ({ siteId: b.siteId, balance: b.after, locked: b.locked! })),
      realSeconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    }
    for (const i of summary.intervals)
      log(`interval ${i.interval}: ${i.orders} orders, ${i.price === null ? 'no trade' : `price ${Number(i.price) / 1e6} /kWh, ${i.trades.length} trades, ${i.tradedWh} Wh; ${i.state}; deltas ${JSON.stringify(i.balanceDeltas, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`}`)
    log(`gas: commit ${summary.gas.commitTotal}, settle ${summary.gas.settleTotal}, finalize ${summary.gas.finalizeTotal} (a marketStep that commits one interval and settles or finalizes others counts in each)`)
    log(`balances: ${report.balances.map((b) => `site ${b.siteId} ${Number(b.balance) / 1e6}${b.locked !== '0' ? ` (+${Number(b.locked) / 1e6} locked by later intervals, not finalized)` : ''}`).join(', ')}; done in ${took()}`)
    if (opts.json) process.stdout.write(toJsonLine(report).replace(/\{"\$bigint":"(-?\d+)"\}/g, '"$1"'))
    return 0
  } finally {
    await community?.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

type LedgerInterval = MarketLedger['intervals'][number]
type SummaryInterval = Pick<LedgerInterval, 'interval' | 'tradedWh' | 'trades'> & {
  orders: number
  price: string | null
  readings: { siteId: number; importWh: number; exportWh: number }[]
  state: LedgerInterval['settlement']['state']
  balanceDeltas: Record<string, bigint> | null
  commitTx: string | null
  settleTx: string | null
  finalizeTx: string | null
  commitGas: bigint | null
  settleGas: bigint | null
  finalizeGas: bigint | null
}

/** Transaction receipts, each fetched once. */
function receiptsOf(client: { getTransactionReceipt(a: { hash: Hex }): Promise<{ gasUsed: bigint; blockNumber: bigint }> }) {
  const known = new Map<string, Promise<{ gasUsed: bigint; blockNumber: bigint }>>()
  return (hash: string) => {
    if (!known.has(hash)) known.set(hash, client.getTransactionReceipt({ hash: hash as Hex }))
    return known.get(hash)!
  }
}

/** A committed interval's settlement by the contract's rule (a reading not in is absent). */
function settlementOf(i: LedgerInterval, penaltyBps: bigint) {
  return settleClearing({ price: BigInt(i.clearingPrice!), matches: i.trades }, penaltyBps, (id) => i.readings.find((r) => r.siteId === id) ?? null)
}

/** Per interval: trades, readings, what settlement moved between the sites (the contract's rule) and the gas of its transactions; and the totals. */
async function summarize(ledger: MarketLedger, p: { receipt: ReturnType<typeof receiptsOf>; penaltyBps: bigint }) {
  const gasOf = new Map<string, bigint>()
  const gas = async (hash: string | null) => {
    if (hash === null) return null
    gasOf.set(hash, (await p.receipt(hash)).gasUsed)
    return gasOf.get(hash)!
  }
  const intervals: SummaryInterval[] = []
  for (const i of ledger.intervals) {
    const { commitTx, settleTx, finalizeTx } = i.settlement
    let balanceDeltas: Record<string, bigint> | null = null
    if (i.clearingPrice !== null && settleTx) {
      const { siteIds, deltas } = settlementOf(i, p.penaltyBps)
      balanceDeltas = Object.fromEntries(siteIds.map((id, k) => [id, deltas[k]!]))
    }
    intervals.push({
      interval: i.interval,
      orders: i.orders.length,
      price: i.clearingPrice,
      tradedWh: i.tradedWh,
      trades: i.trades,
      readings: i.readings.map(({ siteId, importWh, exportWh }) => ({ siteId, importWh, exportWh })),
      state: i.settlement.state,
      balanceDeltas,
      commitTx,
      settleTx,
      finalizeTx,
      commitGas: await gas(commitTx),
      settleGas: await gas(settleTx),
      finalizeGas: await gas(finalizeTx),
    })
  }
  const total = (key: 'commitTx' | 'settleTx' | 'finalizeTx') => [...new Set(intervals.flatMap((i) => (i[key] ? [i[key]] : [])))].reduce((a, h) => a + gasOf.get(h)!, 0n)
  const trades = intervals.reduce((a, i) => a + i.trades.length, 0)
  const settleTotal = total('settleTx')
  return {
    intervals,
    gas: { commitTotal: total('commitTx'), settleTotal, finalizeTotal: total('finalizeTx'), trades, settleGasPerTrade: trades ? Number(settleTotal) / trades : null },
  }
}
