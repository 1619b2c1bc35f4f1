// A live market community as separate programs, for test/integration/market-live-serve:
// anvil, an RPC proxy in front of it (rpcProxy.ts) that every node uses, Debian's Mosquitto
// with per-site credentials and ACLs (mosquitto.ts), the operator (`gridmesh operator`),
// and sites, each a `gridmesh serve` on its own `gridmesh sim`. Keys come from
// `gridmesh market keys`, registrations from `gridmesh market register`. Every process
// runs in its own process group and is killed with it on stop() and at exit, even after
// a failed test. Besides the processes: what the chain did (read from its transactions,
// not from the nodes) and what each simulated grid meter counted over time.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import {
  createPublicClient,
  decodeFunctionData,
  http,
  parseEventLogs,
  type Address,
  type Hash,
  type Hex,
  type PublicClient,
} from 'viem'
import { stringify } from 'yaml'
import { energyMarketAbi, settlementTokenAbi } from '../../contracts/abi.ts'
import { keystorePassphraseEnv } from '../../core/chain/keystore.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { computeSettlement } from '../../core/market/computeSettlement.ts'
import { ABSENT_READING_META } from '../../core/market/encodeClearing.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { simulatorSiteFile } from '../../core/simulator/simulatorSiteFile.ts'
import { startSimulatorProcess, type SimulatorProcess } from '../../core/simulator/startSimulatorProcess.ts'
import { unpackMatches } from '../fixtures/market/marketFlow.ts'
import { startMosquitto } from './mosquitto.ts'
import { startRpcProxy, type RpcProxy } from './rpcProxy.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))

// ---- processes ---------------------------------------------------------------------------

/** Every process this module started and has not seen exit (true: the leader of its own process group): killed at exit, whatever happened. */
const owned = new Map<number, boolean>()
let exitHookInstalled = false
function own(pid: number, group: boolean) {
  owned.set(pid, group)
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', killEverything)
    // a test worker stopped by a signal runs no exit hook: the detached groups would outlive it
    for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
      process.once(signal, () => {
        killEverything()
        process.kill(process.pid, signal)
      })
  }
}
function kill(pid: number, group: boolean, signal: NodeJS.Signals) {
  try {
    process.kill(group ? -pid : pid, signal)
  } catch {
    // already gone
  }
}
/** SIGKILL to every process (group) still running (synchronous: safe in an exit hook). */
export function killEverything() {
  for (const [pid, group] of owned) kill(pid, group, 'SIGKILL')
  owned.clear()
}

export type NodeProcess = {
  name: string
  child: ChildProcess
  /** stdout, line by line */
  lines: string[]
  /** the last 64 kB of stderr */
  stderr(): string
  alive(): boolean
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** the first stdout line matching `re` (also one already printed); rejects with stderr when it exits first or after timeoutMs */
  waitForLine(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>
  /** signal to the whole process group, then wait for the exit (SIGKILL after graceMs) */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>
}

/** `node bin/gridmesh.js ARGS` in its own process group; its stdout and stderr are also appended to `logFile` when given. */
export function spawnGridmesh(name: string, args: string[], env: Record<string, string> = {}, logFile?: string): NodeProcess {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } })
  own(child.pid!, true)
  const file = logFile ? createWriteStream(logFile, { flags: 'a' }) : null
  file?.write(`---- ${new Date().toISOString()} pid ${child.pid}: gridmesh ${args.join(' ')}\n`)
  let err = ''
  const lines: string[] = []
  const waiters = new Set<() => void>()
  child.stderr!.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-65_536)
    file?.write(d)
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line)
    file?.write(`${line}\n`)
    for (const w of waiters) w()
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      owned.delete(child.pid!)
      // the group may hold children of the node process: they go with it
      kill(child.pid!, true, 'SIGKILL')
      file?.end(`---- ${new Date().toISOString()} exited ${code ?? signal}\n`)
      resolve({ code, signal })
      for (const w of waiters) w()
    }),
  )
  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    name,
    child,
    lines,
    stderr: () => err,
    alive,
    exited,
    waitForLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const deadline = setTimeout(() => done(new Error(`${name}: no stdout line matching ${re} within ${timeoutMs} ms; stdout:\n${lines.join('\n')}\nstderr:\n${err}`)), timeoutMs)
        const check = () => {
          for (const line of lines) {
            const m = re.exec(line)
            if (m) return done(null, m)
          }
          if (!alive()) done(new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before printing a line matching ${re}; stdout:\n${lines.join('\n')}\nstderr:\n${err}`))
        }
        const done = (error: Error | null, m?: RegExpExecArray) => {
          clearTimeout(deadline)
          waiters.delete(check)
          if (error) reject(error)
          else resolve(m!)
        }
        waiters.add(check)
        check()
      })
    },
    async stop(signal = 'SIGTERM', graceMs = 30_000) {
      if (!alive()) return void (await exited)
      kill(child.pid!, true, signal)
      const timer = setTimeout(() => kill(child.pid!, true, 'SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Runs a gridmesh command to its end; throws with its output unless it exits 0. */
export async function runGridmesh(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): Promise<string> {
  const p = spawnGridmesh(`gridmesh ${args[0]} ${args[1] ?? ''}`, args, env)
  const timer = setTimeout(() => void p.stop('SIGKILL'), timeoutMs)
  const { code, signal } = await p.exited
  clearTimeout(timer)
  if (code !== 0) throw new Error(`gridmesh ${args.join(' ')} exited ${code ?? signal}:\n${p.lines.join('\n')}\n${p.stderr()}`)
  return p.lines.join('\n')
}

// ---- the chain, as its transactions say ---------------------------------------------------

export type ChainOrder = { siteId: number; side: number; energyWh: number; limitPrice: bigint }
export type ChainCommit = { interval: bigint; price: bigint; siteIds: number[]; orders: ChainOrder[]; matches: bigint[]; tx: Hash; block: bigint }
export type ChainSettle = { interval: bigint; price: bigint; siteIds: number[]; matches: bigint[]; readings: ({ importWh: number; exportWh: number } | null)[]; tx: Hash; block: bigint; effective: boolean }
export type ChainIntervalHistory = {
  interval: bigint
  commit: ChainCommit | null
  /** every settlement a mined transaction carried; `effective` the one the contract applied (a step skips an interval already settled) */
  settles: ChainSettle[]
  finalizedAt: bigint | null
  expiredAt: bigint | null
  /** ReadingPosted logs per site id */
  postedReadings: Map<number, number>
}

export type ChainHistory = {
  intervals: Map<bigint, ChainIntervalHistory>
  /** transactions to the market that reverted, with the function they called */
  reverted: { fn: string; tx: Hash; from: Address; block: bigint }[]
  /** the last block read */
  block: bigint
}

const word = (data: Hex, i: number) => BigInt(`0x${data.slice(2 + 64 * i, 2 + 64 * (i + 1))}`)
const u32 = (x: bigint, shift: bigint) => (x >> shift) & 0xffffffffn
const u64 = (x: bigint, shift: bigint) => (x >> shift) & 0xffffffffffffffffn

/** What EnergyMarket.marketStep's packed argument carries (the inverse of core/chain/stepMarket.ts's encodeStep). */
export function decodeStep(data: Hex) {
  const head = word(data, 0)
  const nFinals = Number(head >> 248n)
  const nSites = Number((head >> 240n) & 0xffn)
  const nOrders = Number((head >> 224n) & 0xffn)
  const nCommitMatches = Number((head >> 216n) & 0xffn)
  let p = 1
  const finals: bigint[] = []
  for (let i = 0; i < nFinals; i++) {
    const fh = word(data, p)
    finals.push(fh >> 8n)
    p += 2 + Number(fh & 0xffn)
  }
  // settle: the committed clearing's hash, then the releases (site id << 64 | amount)
  const releases = Array.from({ length: nSites }, (_, k) => word(data, p + 1 + k))
  if (nSites > 0) p += 1 + nSites
  const readingMetas = Array.from({ length: nSites }, (_, k) => word(data, p + 3 * k))
  p += 3 * nSites
  const orderMetas = Array.from({ length: nOrders }, (_, k) => word(data, p + 3 * k))
  p += 3 * nOrders
  const commitMatches = Array.from({ length: nCommitMatches }, (_, k) => word(data, p + k))
  return {
    finals,
    settle: nSites === 0 ? null : { interval: u32(head, 184n), releases, readingMetas },
    commit: { interval: u32(head, 88n), price: u64(head, 24n), orderMetas, matches: commitMatches },
  }
}

const siteOfRef = (ref: bigint) => Number(u32(ref, 160n))
const orderOf = (meta: bigint): ChainOrder => ({ siteId: Number(u32(meta, 200n)), side: Number((meta >> 160n) & 0xffn), energyWh: Number(u32(meta, 128n)), limitPrice: u64(meta, 64n) })
const readingOf = (meta: bigint) => (meta === ABSENT_READING_META ? null : { importWh: Number(u32(meta, 32n)), exportWh: Number(u32(meta, 0n)) })

/**
 * Reads every mined transaction to the market from `fromBlock` on, as the contract applied
 * it (commits, settlements, finalizations, expiries; a marketStep's parts decoded from its
 * calldata), incrementally: each sync() reads only the new blocks.
 */
export function createChainHistory({ client, market, fromBlock }: { client: PublicClient; market: Address; fromBlock: bigint }) {
  const history: ChainHistory = { intervals: new Map(), reverted: [], block: fromBlock - 1n }
  const at = (interval: bigint) => {
    let h = history.intervals.get(interval)
    if (!h) history.intervals.set(interval, (h = { interval, commit: null, settles: [], finalizedAt: null, expiredAt: null, postedReadings: new Map() }))
    return h
  }
  const settled = (interval: bigint) => at(interval).settles.some((s) => s.effective)
  const sync = async () => {
    const latest = await client.getBlockNumber()
    for (let n = history.block + 1n; n <= latest; n++) {
      const block = await client.getBlock({ blockNumber: n, includeTransactions: true })
      for (const tx of block.transactions) {
        if (tx.to?.toLowerCase() !== market.toLowerCase()) continue
        const receipt = await client.getTransactionReceipt({ hash: tx.hash })
        const fn = decodeFunctionData({ abi: energyMarketAbi, data: tx.input })
        if (receipt.status !== 'success') {
          history.reverted.push({ fn: fn.functionName, tx: tx.hash, from: tx.from, block: n })
          continue
        }
        for (const log of parseEventLogs({ abi: energyMarketAbi, logs: receipt.logs, eventName: 'ReadingPosted' })) {
          const h = at(log.args.interval)
          h.postedReadings.set(log.args.siteId, (h.postedReadings.get(log.args.siteId) ?? 0) + 1)
        }
        const settle = (s: Omit<ChainSettle, 'effective' | 'tx' | 'block'>) => at(s.interval).settles.push({ ...s, tx: tx.hash, block: n, effective: !settled(s.interval) })
        const finalize = (interval: bigint) => {
          const h = at(interval)
          if (h.finalizedAt === null) h.finalizedAt = n
        }
        if (fn.functionName === 'marketStep') {
          const step = decodeStep(`0x${tx.input.slice(10)}`)
          step.finals.forEach(finalize)
          // a step names the settled clearing by its hash (the contract checks it): the commit's
          if (step.settle) {
            const c = at(step.settle.interval).commit
            settle({ interval: step.settle.interval, price: c?.price ?? 0n, siteIds: step.settle.releases.map((r) => Number(u32(r, 64n))), matches: c?.matches ?? [], readings: step.settle.readingMetas.map(readingOf) })
          }
          const orders = step.commit.orderMetas.map(orderOf)
          at(step.commit.interval).commit = { interval: step.commit.interval, price: step.commit.price, siteIds: orders.map((o) => o.siteId), orders, matches: step.commit.matches, tx: tx.hash, block: n }
        } else if (fn.functionName === 'commitClearing') {
          const [interval, price, signed, matches] = fn.args
          const orders = signed.map((o) => orderOf(o.meta))
          at(interval).commit = { interval, price, siteIds: orders.map((o) => o.siteId), orders, matches: [...matches], tx: tx.hash, block: n }
        } else if (fn.functionName === 'settle') {
          const [interval, price, sites, matches, readings] = fn.args
          settle({ interval, price, siteIds: sites.map(siteOfRef), matches: [...matches], readings: readings.map((r) => readingOf(r.meta)) })
        } else if (fn.functionName === 'finalize') finalize(fn.args[0])
        else if (fn.functionName === 'expire') at(fn.args[0]).expiredAt = n
      }
      history.block = n
    }
    return history
  }
  return { history, sync }
}

/** Net energy each committed site sold (> 0) or bought (< 0) in a commit, Wh, by site id. */
export function tradedWhBySite(commit: Pick<ChainCommit, 'siteIds' | 'matches'>): Map<number, number> {
  const net = new Map<number, number>()
  for (const m of unpackMatches(commit.matches)) {
    const seller = commit.siteIds[m.sellerPos]!
    const buyer = commit.siteIds[m.buyerPos]!
    net.set(seller, (net.get(seller) ?? 0) + m.energyWh)
    net.set(buyer, (net.get(buyer) ?? 0) - m.energyWh)
  }
  return net
}

/**
 * The market's tokens at one block: what it holds, and where its books say they are:
 * the sites' free balances, bonds and side balances (income beyond a balance's lane:
 * withdrawable - balanceOf of an active site) and the locks of the intervals committed and
 * not yet finalized or expired by then (computed from the committed clearings, as commit locks them).
 */
export async function marketTokens(client: PublicClient, market: Address, history: ChainHistory, blockNumber: bigint) {
  const read = (functionName: 'balanceOf' | 'bondOf' | 'withdrawable', id: number) => client.readContract({ address: market, abi: energyMarketAbi, functionName, args: [id], blockNumber })
  const token = (await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'token', blockNumber })) as Address
  const penaltyBps = (await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'penaltyBps', blockNumber })) as bigint
  const siteCount = Number(await client.readContract({ address: market, abi: energyMarketAbi, functionName: 'siteCount', blockNumber }))
  const held = (await client.readContract({ address: token, abi: settlementTokenAbi, functionName: 'balanceOf', args: [market], blockNumber })) as bigint
  let balances = 0n
  let bonds = 0n
  let side = 0n
  for (let id = 0; id < siteCount; id++) {
    const [balance, bond, withdrawable] = await Promise.all([read('balanceOf', id), read('bondOf', id), read('withdrawable', id)])
    balances += balance
    bonds += bond
    side += withdrawable - balance // active sites: the side balance; the tests' sites stay active
  }
  let locks = 0n
  for (const h of history.intervals.values()) {
    if (!h.commit || h.commit.block > blockNumber) continue
    if ((h.finalizedAt !== null && h.finalizedAt <= blockNumber) || (h.expiredAt !== null && h.expiredAt <= blockNumber)) continue
    const { locks: l } = computeSettlement({ price: h.commit.price, penaltyBps, readings: h.commit.siteIds.map(() => null), matches: unpackMatches(h.commit.matches) })
    locks += l.reduce((a, b) => a + b, 0n)
  }
  return { held, balances, bonds, side, locks, total: balances + bonds + side + locks }
}

// ---- the simulated meters ----------------------------------------------------------------

export type MeterSample = { wallMs: number; simMs: number; importWh: number; exportWh: number }

/** Polls a simulator's grid meter counters (GET /api/state) every `everyMs`; the samples are in simulated time order. */
export function recordMeter(apiUrl: string, everyMs = 1_000) {
  const samples: MeterSample[] = []
  let stopped = false
  const poll = async () => {
    while (!stopped) {
      try {
        const state = (await (await fetch(`${apiUrl}/api/state`)).json()) as { timeMs: number; devices: { kind: string; importWh?: number; exportWh?: number }[] }
        const meter = state.devices.find((d) => d.kind === 'meter')
        if (meter) samples.push({ wallMs: Date.now(), simMs: state.timeMs, importWh: meter.importWh!, exportWh: meter.exportWh! })
      } catch {
        // the simulator restarting or gone: a gap in the samples
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  }
  const done = poll()
  return {
    samples,
    async stop() {
      stopped = true
      await done
    },
  }
}

/**
 * What a meter counted over [fromMs, toMs] (simulated time) when its edges are known only
 * to `slackMs` (a site samples its meter at its own cycle near each edge): the least and
 * most import and export any such window saw. Null when the samples do not cover the edges.
 */
export function meterDeltaBounds(samples: readonly MeterSample[], fromMs: number, toMs: number, slackMs: number) {
  const before = (t: number) => [...samples].reverse().find((s) => s.simMs <= t)
  const after = (t: number) => samples.find((s) => s.simMs >= t)
  const a0 = before(fromMs - slackMs)
  const a1 = after(fromMs + slackMs)
  const b0 = before(toMs - slackMs)
  const b1 = after(toMs + slackMs)
  if (!a0 || !a1 || !b0 || !b1) return null
  return {
    importWh: { min: b0.importWh - a1.importWh, max: b1.importWh - a0.importWh },
    exportWh: { min: b0.exportWh - a1.exportWh, max: b1.exportWh - a0.exportWh },
  }
}

// ---- the community -----------------------------------------------------------------------

export type LiveSiteSpec = {
  /** the simulated hardware: PV rated power (0: none), battery, load peak */
  pvRatedW: number
  battery: { capacityWh: number; maxPowerW: number; initialSocPct: number }
  loadPeakW: number
  /** what the site may buy / sell per interval, as power */
  maxBuyPowerW: number
  maxSellPowerW: number
}

export type StartLiveCommunityParameters = {
  sites: LiveSiteSpec[]
  /** weather seed of the simulators (site k gets seed + k) */
  seed: number
  intervalSec: number
  settleWindowSec: number
  disputeWindowSec: number
  /** where the simulated sites are (the tests run at any hour of the day) */
  location: { latitudeDeg: number; longitudeDeg: number; timezone: string }
  /** token units each site gets in escrow beyond its bond (market register --escrow) */
  escrowUnits: number
  log?: (m: string) => void
}

export type LiveSite = {
  siteId: number
  dir: string
  dataDir: string
  siteFile: string
  spec: LiveSiteSpec
  sim: SimulatorProcess
  meter: ReturnType<typeof recordMeter>
  serve: NodeProcess | null
  /** the serve's API and its owner token (new each start) */
  api: { url: string; token: string } | null
  owner: Address
  meterKey: Address
}

/** The passphrase of every key file of the community (GRIDMESH_KEYSTORE_PASSPHRASE of every node). */
export const passphrase = 'live-serve-test-passphrase'
const nodeEnv = { [keystorePassphraseEnv]: passphrase }

function writeYaml(path: string, value: unknown): string {
  writeFileSync(path, stringify(value))
  return path
}

/**
 * Starts the whole community: anvil and its RPC proxy, the simulators, keys and
 * registrations through the CLI (the first registration deploys the market from the
 * operator's data folder), Mosquitto for the market's topics, the operator and a serve per
 * site. stop() ends every process; killEverything() (at exit) covers a start that failed half-way.
 */
export async function startLiveCommunity(p: StartLiveCommunityParameters) {
  const log = p.log ?? (() => {})
  const work = join(tmpdir(), `live-community-${process.pid}-${Date.now()}`)
  mkdirSync(work, { recursive: true })
  const anvil: Anvil = await startAnvil({ args: ['--block-time', '1'] })
  own(anvil.process.pid!, false)
  const rpc: RpcProxy = await startRpcProxy({ host: '127.0.0.1', port: anvil.port })
  const client = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: 250 }) as PublicClient
  log(`anvil ${anvil.rpcUrl}; the nodes reach it through ${rpc.url}`)
  const chain = { rpcUrl: rpc.url, chainId: anvil.chainId }
  const windows = { intervalSec: p.intervalSec, settleWindowSec: p.settleWindowSec, disputeWindowSec: p.disputeWindowSec }

  // the simulated hardware, one simulator process per site, clocks on real time from now
  const sims = await Promise.all(
    p.sites.map(async (spec, k) => {
      const dir = join(work, `site-${k}`)
      mkdirSync(dir, { recursive: true })
      const simSite = {
        name: `site-${k}`,
        location: p.location,
        clock: { speed: 1 },
        load: { peakW: spec.loadPeakW },
        api: { host: '127.0.0.1', port: 0 },
        devices: [
          ...(spec.pvRatedW > 0 ? [{ name: 'pv1', kind: 'inverter', transport: { type: 'tcp', port: 0, unitId: 1 }, ratedW: spec.pvRatedW, tiltDeg: 15, azimuthDeg: 180 }] : []),
          { name: 'bat1', kind: 'battery', transport: { type: 'tcp', port: 0, unitId: 1 }, capacityWh: spec.battery.capacityWh, maxChargeW: spec.battery.maxPowerW, maxDischargeW: spec.battery.maxPowerW, initialSocPct: spec.battery.initialSocPct },
          { name: 'meter1', kind: 'meter', transport: { type: 'tcp', port: 0, unitId: 1 } },
        ],
      }
      const simFile = writeYaml(join(dir, 'sim.yaml'), simSite)
      const sim = await startSimulatorProcess(['--site', simFile, '--seed', String(p.seed + k)])
      own(sim.child.pid!, false)
      return { dir, simSite, sim, meter: recordMeter(sim.apiUrl) }
    }),
  )

  // the operator's data folder; the first registration deploys the market from it
  const opDir = join(work, 'operator')
  const opData = join(opDir, 'data')
  mkdirSync(opData, { recursive: true })
  const opSiteFile = join(opDir, 'site.yaml')
  const opSite = (extra: Record<string, unknown>) => ({ name: 'operator', devices: [{ name: 'none', connection: { type: 'tcp', host: '127.0.0.1', port: 1 } }], market: { chain, ...windows, ...extra } })
  writeYaml(opSiteFile, opSite({}))
  const keysOf = async (dataDir: string) => JSON.parse(await runGridmesh(['market', 'keys', '--data', dataDir], nodeEnv)) as { owner: Address; meter: Address }
  const register = (siteId: number, key: { owner: Address; meter: Address }, escrowUnits: number) =>
    runGridmesh(['market', 'register', '--site', opSiteFile, '--data', opData, '--site-id', String(siteId), '--owner', key.owner, '--meter', key.meter, '--escrow', String(escrowUnits)], nodeEnv)
  // The registry numbers sites from 0 in registration order, and a serve's market.site.id
  // starts at 1 (siteMarketSchema): site 0 is a site that is registered and never comes
  // (its keys are made, it has a bond, it never orders). The first registration deploys the market.
  const [absent, ...keys] = await Promise.all([join(work, 'absent-site', 'data'), ...sims.map((s) => join(s.dir, 'data'))].map(keysOf))
  await register(0, absent!, 0)
  const siteIds = sims.map((_, k) => k + 1)
  for (const [k, key] of keys.entries()) await register(siteIds[k]!, key, p.escrowUnits)
  const record = JSON.parse(readFileSync(join(opData, 'chain', 'market.json'), 'utf8')) as { market: Address; token: Address; deployedAtBlock: string; config: Record<string, string> }
  const market = record.market
  const topics = marketTopics(anvil.chainId, market)
  log(`market ${market} (token ${record.token}) deployed at block ${record.deployedAtBlock}; sites ${siteIds.join(', ')} registered`)

  const mosquitto = await startMosquitto({ topics, sites: siteIds })
  const broker = (user: string) => ({ url: mosquitto.url, username: user, password: mosquitto.passwords[user]! })
  writeYaml(opSiteFile, opSite({ address: market, broker: broker('operator') }))
  const operatorLog = join(opDir, 'operator.log')
  let operator = spawnGridmesh('operator', ['operator', '--site', opSiteFile, '--data', opData], nodeEnv, operatorLog)

  const sites: LiveSite[] = sims.map((s, k) => {
    const siteId = siteIds[k]!
    const spec = p.sites[k]!
    const served = simulatorSiteFile({ sim: s.simSite, ready: s.sim.ready, apiUrl: s.sim.apiUrl, name: `site-${siteId}`, control: { battery: { socMinPct: 10, socMaxPct: 95 } } })
    const siteFile = writeYaml(join(s.dir, 'site.yaml'), {
      ...served,
      market: { chain, ...windows, address: market, site: { id: siteId, maxBuyPowerW: spec.maxBuyPowerW, maxSellPowerW: spec.maxSellPowerW }, broker: broker(topics.username(siteId)) },
    })
    return { siteId, dir: s.dir, dataDir: join(s.dir, 'data'), siteFile, spec, sim: s.sim, meter: s.meter, serve: null, api: null, owner: keys[k]!.owner, meterKey: keys[k]!.meter }
  })

  /** Starts (or restarts) a site's serve on its data folder and waits for its API. */
  const startServe = async (site: LiveSite) => {
    const serve = spawnGridmesh(`serve site ${site.siteId}`, ['serve', '--site', site.siteFile, '--data', site.dataDir, '--port', '0', '--sim-api', site.sim.apiUrl], nodeEnv, join(site.dir, 'serve.log'))
    site.serve = serve
    const [, url, tokenFile] = await serve.waitForLine(/^api (http:\/\/127\.0\.0\.1:\d+) token-file (.+)$/, 120_000)
    site.api = { url: url!, token: readFileSync(tokenFile!, 'utf8').trim() }
  }
  await Promise.all(sites.map(startServe))
  const chainHistory = createChainHistory({ client, market, fromBlock: BigInt(record.deployedAtBlock) })

  const stopAll = async () => {
    await Promise.all(sites.map((s) => s.serve?.stop('SIGTERM', 30_000)))
    await operator.stop('SIGTERM', 30_000)
    await Promise.all(sites.map((s) => s.meter.stop()))
    await Promise.all(sites.map((s) => s.sim.stop()))
    await mosquitto.stop()
    await rpc.close()
    await anvil.stop()
    killEverything()
  }

  return {
    work,
    anvil,
    rpc,
    client,
    mosquitto,
    topics,
    market,
    token: record.token,
    deployedAtBlock: BigInt(record.deployedAtBlock),
    genesis: BigInt(record.config.genesis!),
    intervalSec: BigInt(p.intervalSec),
    operatorDataDir: opData,
    operatorSiteFile: opSiteFile,
    get operator() {
      return operator
    },
    async restartOperator(signal: NodeJS.Signals = 'SIGKILL') {
      await operator.stop(signal)
      operator = spawnGridmesh('operator', ['operator', '--site', opSiteFile, '--data', opData], nodeEnv, operatorLog)
    },
    sites,
    startServe,
    chain: chainHistory,
    /** start of `interval` in chain (unix) seconds */
    intervalStart: (interval: bigint) => BigInt(record.config.genesis!) + interval * BigInt(p.intervalSec),
    /** the interval running at chain time `s` */
    intervalAt: (s: bigint) => (s - BigInt(record.config.genesis!)) / BigInt(p.intervalSec),
    /** GET a serve's API as its owner */
    async api<T>(site: LiveSite, path: string): Promise<T> {
      if (!site.api) throw new Error(`site ${site.siteId} has no API running`)
      const res = await fetch(`${site.api.url}${path}`, { headers: { authorization: `Bearer ${site.api.token}` } })
      if (!res.ok) throw new Error(`site ${site.siteId}: GET ${path} answered ${res.status}: ${await res.text()}`)
      return (await res.json()) as T
    },
    stop: stopAll,
  }
}

export type LiveCommunity = Awaited<ReturnType<typeof startLiveCommunity>>
