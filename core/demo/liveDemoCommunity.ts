// The demo's live market community (issue 15): the same path a real community takes, on
// one machine. A fresh anvil whose clock follows the sites' simulated clock, the market
// deployed and every site's keys made and registered through the provisioning functions
// (`gridmesh market keys` / `market register`), the embedded broker with a password and
// the protocol's ACL per site, the clearing operator in the demo's process, and each peer
// site a `gridmesh serve --sim-clock` on its own simulator. `gridmesh demo`'s own site trades
// through its serve (startSite with the `market` section this returns); `gridmesh market
// demo` has no site of its own: every site is a peer.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createTestClient, http, publicActions, type Address, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { stringify } from 'yaml'
import { keystorePassphraseEnv } from '../chain/keystore.ts'
import { redactRpcUrl } from '../chain/redactRpcUrl.ts'
import { startAnvil, type Anvil } from '../chain/startAnvil.ts'
import { siteRuntimeDefaults } from '../control/createSiteRuntime.ts'
import type { SiteFile } from '../devices/site/siteFileSchema.ts'
import type { LiveMarketView } from '../market/live/liveMarketView.ts'
import { marketTopics } from '../market/live/marketTopics.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../market/live/startEmbeddedBroker.ts'
import { siteMarketSchema, type SiteMarket } from '../site/siteMarketSchema.ts'
import { spawnSimulator } from '../simulator/spawnSimulator.ts'
import { provisionRegisterSite } from '../trading/provisionRegisterSite.ts'
import { provisionSiteKeys } from '../trading/provisionSiteKeys.ts'
import { startLiveOperator } from '../trading/startLiveOperator.ts'
import { DemoError } from './DemoError.ts'
import { chooseDemoHardware, type DemoHardware } from './demoSite/chooseDemoHardware.ts'
import { writeDemoSiteFile } from './demoSite/writeDemoSiteFile.ts'
import { demoSiteFile } from './demoSiteFile.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))

export type LiveDemoCommunityParameters = {
  /** this site's data folder: the community lives in `<dataDir>/demo-market/` (new each run), this site's keys in its keys/ */
  dataDir: string
  /** where every simulated clock starts (a slot boundary): the chain's first block and the market's genesis */
  startMs: number
  /** market peers beside this site (serve processes, each on its own simulator) */
  peers: number
  /** this site trades beside the peers as site 1 (gridmesh demo; default true); false: every site is a peer (gridmesh market demo) */
  hostSite?: boolean
  /** an anvil to deploy on instead of a fresh one (its clock is moved to `startMs`, which must not be before its latest block, and then follows the simulated one; it outlives the community) */
  chain?: { rpcUrl: string; chainId?: number | undefined }
  /** the n-th peer's hardware (default chooseDemoHardware(n)) */
  hardware?: (n: number) => DemoHardware
  /** peer N's key files go to `<keyDir>/site-N/{owner,meter}.json` (default its data folder's keys/) */
  keyDir?: string | null
  /** how long a settlement can be disputed (default the market's 3600 s) */
  disputeWindowSec?: number
  /** weather seed of the peers' simulators (one street, one weather) */
  seed: number
  log: (line: string) => void
  /** how often the chain's clock is moved to the simulated now, real ms (default 250) */
  chainStepMs?: number
}

type Peer = { siteId: number; sim: Awaited<ReturnType<typeof spawnSimulator>>; serve: ChildProcess | null; exited: Promise<number | NodeJS.Signals | null>; lastLines: string[] }

/** This site's id in the registry; 0 is a placeholder that never trades (a serve's market.site.id starts at 1), the peers follow. */
export const demoSiteId = 1

/**
 * Sets the community up with every clock paused at `startMs`; `run(now)` starts the
 * chain's clock driver and the operator on the simulated clock once the simulators run.
 */
export async function liveDemoCommunity(p: LiveDemoCommunityParameters) {
  const { log } = p
  const hostSite = p.hostSite ?? true
  const hardwareOf = p.hardware ?? chooseDemoHardware
  const dir = join(p.dataDir, 'demo-market')
  // A new chain every run: what an earlier run signed and queued (this site's journal and outbox in <data>/market) belongs to another market.
  rmSync(dir, { recursive: true, force: true })
  rmSync(join(p.dataDir, 'market'), { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  // every key file of the run is sealed with it; this site's serve reads it from the environment like the peers'
  const passphrase = (process.env[keystorePassphraseEnv] ||= randomBytes(24).toString('base64url'))
  const peers: Peer[] = []
  let anvil: Anvil | null = null
  let broker: EmbeddedBroker | null = null
  let operator: { view: LiveMarketView; stop(): Promise<void> } | null = null
  let driver: { stop(): Promise<void> } | null = null
  let starting: Promise<void> | null = null
  let stopping: Promise<void> | null = null
  const stop = () =>
    (stopping ??= (async () => {
      // an operator still starting is stopped once it runs
      await starting?.catch(() => {})
      // the sites first (their last readings), then what they talk to
      await Promise.all(peers.map((peer) => stopServe(peer)))
      await operator?.stop()
      await driver?.stop()
      await broker?.close()
      await Promise.all(peers.map((peer) => peer.sim.stop()))
      await anvil?.stop()
    })())
  try {
    if (p.chain) await moveChainClock(p.chain.rpcUrl, p.startMs)
    else anvil = await startAnvil({ args: ['--timestamp', String(Math.floor(p.startMs / 1000))] })
    const chain = p.chain ? { rpcUrl: p.chain.rpcUrl, chainId: p.chain.chainId ?? (await createTestClient({ mode: 'anvil', transport: http(p.chain.rpcUrl) }).extend(publicActions).getChainId()), embedded: false } : { rpcUrl: anvil!.rpcUrl, chainId: anvil!.chainId, embedded: true }
    // A settle window of two intervals (30 real s at 60x, not a simulated day): an interval whose readings are missing is settled with them absent within the demo's minute, not after 12 real minutes.
    const intervalSec = siteRuntimeDefaults.slotMs / 1000
    const settings = siteMarketSchema.parse({ chain: { rpcUrl: chain.rpcUrl, chainId: chain.chainId }, intervalSec, settleWindowSec: 2 * intervalSec, ...(p.disputeWindowSec !== undefined && { disputeWindowSec: p.disputeWindowSec }) })
    const operatorSite = (market: SiteMarket): SiteFile => ({ name: 'demo-operator', devices: [], market }) as unknown as SiteFile
    const operatorDir = join(dir, 'operator')
    const firstPeerId = hostSite ? demoSiteId + 1 : demoSiteId
    const peerIds = Array.from({ length: p.peers }, (_, k) => firstPeerId + k)
    const hardware = (siteId: number) => hardwareOf(siteId - firstPeerId)
    const peerDir = (siteId: number) => join(dir, `site-${siteId}`)
    const peerData = (siteId: number) => join(peerDir(siteId), 'data')
    const simSites = new Map<number, ReturnType<typeof writeDemoSiteFile>>()
    const writeSimFile = (siteId: number) => {
      const path = join(peerDir(siteId), 'sim.yaml')
      mkdirSync(peerDir(siteId), { recursive: true })
      simSites.set(siteId, writeDemoSiteFile({ path, siteId, hardware: hardware(siteId), startMs: p.startMs }))
      return path
    }
    const nobody = () => privateKeyToAccount(generatePrivateKey()).address
    const keyFiles = (siteId: number) =>
      p.keyDir ? { ownerKeyFile: resolve(p.keyDir, `site-${siteId}`, 'owner.json'), meterKeyFile: resolve(p.keyDir, `site-${siteId}`, 'meter.json') } : {}
    const keys = await Promise.all([
      { owner: { address: nobody() }, meter: { address: nobody() } },
      ...(hostSite ? [provisionSiteKeys({ dataDir: p.dataDir, ownerKeyFile: 'demo-market/keys/owner.json', meterKeyFile: 'demo-market/keys/meter.json', passphrase })] : []),
      ...peerIds.map((siteId) => provisionSiteKeys({ dataDir: peerData(siteId), ...keyFiles(siteId), passphrase })),
    ])
    // the first registration deploys the market from the operator's data folder; genesis is the chain's first block, startMs
    for (const [siteId, k] of keys.entries())
      await provisionRegisterSite({ site: operatorSite(settings), dataDir: operatorDir, siteId, owner: k.owner.address, meter: k.meter.address, ...(siteId === 0 && { escrowUnits: 0n }), passphrase })
    const record = JSON.parse(readFileSync(join(operatorDir, 'chain', 'market.json'), 'utf8')) as { market: Address; token: Address; config: Record<'genesis' | 'intervalSec' | 'disputeWindowSec' | 'penaltyBps', string> }
    const { market } = record
    const siteIds = hostSite ? [demoSiteId, ...peerIds] : peerIds
    const topics = marketTopics(chain.chainId, market)
    const users = Object.fromEntries([null, ...siteIds].map((id) => [topics.username(id), randomBytes(18).toString('base64url')]))
    broker = await startEmbeddedBroker({ users, topics })
    const brokerOf = (id: number | null) => ({ url: broker!.url, username: topics.username(id), password: users[topics.username(id)]! })
    log(`market: ${market} on ${anvil ? 'a fresh anvil' : 'the anvil'} (${chain.rpcUrl}) whose clock follows the simulated one; sites ${siteIds.join(', ')} registered; the embedded broker ${broker.url} (a password and the protocol's ACL per site)`)

    // the peers: a paused simulator each (at startMs, run together with this site's) and a serve on it
    const sims = await Promise.allSettled(
      peerIds.map(async (siteId) => {
        const path = writeSimFile(siteId)
        try {
          return await spawnSimulator(path, p.seed, 60_000)
        } catch (cause) {
          throw new DemoError(`site ${siteId}: cannot start its simulator (${path}): ${(cause as Error).message}`, { cause })
        }
      }),
    )
    for (const s of sims) if (s.status === 'fulfilled') peers.push({ siteId: 0, sim: s.value, serve: null, exited: Promise.resolve(null), lastLines: [] })
    const failed = sims.find((s) => s.status === 'rejected')
    if (failed) throw failed.reason
    for (const [k, siteId] of peerIds.entries()) {
      const peer = peers[k]!
      peer.siteId = siteId
      const { sim } = peer
      const siteFile = join(peerDir(siteId), 'site.yaml')
      writeFileSync(siteFile, stringify({ ...demoSiteFile(sim.ready, sim.apiUrl, simSites.get(siteId)!), name: `demo peer ${siteId}`, market: { ...settings, address: market, site: { id: siteId, ...keyFiles(siteId) }, broker: brokerOf(siteId) } }))
      const serve = spawn(process.execPath, [cli, 'serve', '--site', siteFile, '--data', peerData(siteId), '--port', '0', '--sim-api', sim.apiUrl, '--sim-clock'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, [keystorePassphraseEnv]: passphrase } })
      peer.serve = serve
      peer.exited = new Promise((resolve) => serve.once('exit', (code, signal) => resolve(code ?? signal)))
      // its market lines and its troubles; the rest (cycles, plans) is on its own HMI
      createInterface({ input: serve.stderr! }).on('line', (line) => {
        const text = line.replace(/^\S+ serve: /, '')
        if (!/market|cannot|error|running/i.test(text)) return
        log(`peer ${siteId}: ${text}`)
        peer.lastLines = [...peer.lastLines.slice(-4), text]
      })
      createInterface({ input: serve.stdout! }).on('line', () => {})
      const hw = hardware(siteId)
      log(`peer ${siteId}: owner ${keys[siteId]!.owner.address}, meter ${keys[siteId]!.meter.address}; PV ${hw.pvRatedW / 1000} kW, battery ${hw.batteryCapacityWh / 1000} kWh at ${hw.initialSocPct} %, load peak ${hw.loadPeakW / 1000} kW; 'gridmesh serve --sim-clock' on its simulator ${sim.apiUrl}`)
    }
    return {
      chain: { ...chain, market, token: record.token },
      /** the market's parameters as deployed (seconds; genesis is the first interval's start) */
      config: { genesisS: Number(record.config.genesis), intervalSec: Number(record.config.intervalSec), disputeWindowSec: Number(record.config.disputeWindowSec), penaltyBps: BigInt(record.config.penaltyBps) },
      /** the trading sites (this one first when it trades) with their registered keys */
      sites: siteIds.map((siteId) => ({ siteId, owner: keys[siteId]!.owner.address as Hex, meter: keys[siteId]!.meter.address as Hex })),
      /** the peers' serves: `exited` resolves with its exit code (or signal) when it ends; `lastLines` are its last market and error lines */
      peerServes: peers.map((x) => ({ siteId: x.siteId, exited: x.exited, lastLines: () => x.lastLines })),
      /** the operator's view (its ledger and status) once it runs */
      operatorView: () => operator?.view ?? null,
      /** this site's market section: it trades as site 1 */
      market: { ...settings, address: market, site: { id: demoSiteId, ownerKeyFile: 'demo-market/keys/owner.json', meterKeyFile: 'demo-market/keys/meter.json' }, broker: brokerOf(demoSiteId) } satisfies SiteMarket,
      /** the peers' simulators' control APIs, to let them run with this site's */
      peerSimApiUrls: peers.map((x) => x.sim.apiUrl),
      /** once the simulators run: the chain's clock follows `now`, and the operator clears on it */
      run(now: () => number) {
        return (starting ??= runOn(now))
      },
      stop,
    }
    async function runOn(now: () => number) {
      driver = driveChainClock({ rpcUrl: chain.rpcUrl, nowMs: now, stepMs: p.chainStepMs ?? 250, log })
      // a tick every real quarter second: at 60x the gate closes one real second before its interval starts
      operator = await startLiveOperator({ site: operatorSite({ ...settings, address: market, broker: brokerOf(null) }), dataDir: operatorDir, now, passphrase, tickMs: 250, log: (m) => log(`operator: ${m}`) })
      operator.view.onEvent((e) => {
        if (e.kind !== 'presence') log(`operator: ${e.interval === null ? '' : `interval ${e.interval}: `}${e.kind}: ${e.detail}`)
      })
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** SIGTERM, and SIGKILL after 20 s: a serve stops its controller and its market node first. */
async function stopServe(peer: Peer) {
  const serve = peer.serve
  if (!serve || serve.exitCode !== null || serve.signalCode !== null) return
  serve.kill('SIGTERM')
  const killer = setTimeout(() => serve.kill('SIGKILL'), 20_000)
  await peer.exited
  clearTimeout(killer)
}

/** Moves an anvil's clock to `ms` (a block at that time), naming the URL when it cannot. */
async function moveChainClock(rpcUrl: string, ms: number) {
  const client = createTestClient({ mode: 'anvil', transport: http(rpcUrl, { retryCount: 0 }) }).extend(publicActions)
  try {
    await client.setNextBlockTimestamp({ timestamp: BigInt(Math.floor(ms / 1000)) })
    await client.mine({ blocks: 1 })
  } catch (cause) {
    throw new DemoError(`the chain at ${redactRpcUrl(rpcUrl)} cannot be moved to ${new Date(ms).toISOString()}: ${(cause as Error).message.split('\n')[0]}; the demo moves chain time with the simulated clock and needs anvil`, { cause })
  }
}

/**
 * Moves anvil's clock to the simulated now every `stepMs` (a block at that time): the
 * contract's windows and the nodes' chain clocks then follow the time-warped sites.
 * Anvil mines the transactions in between on its own clock, which runs on in real time
 * from the last block set, so a block is never ahead of the simulated now.
 */
function driveChainClock({ rpcUrl, nowMs, stepMs, log }: { rpcUrl: string; nowMs: () => number; stepMs: number; log: (m: string) => void }) {
  const client = createTestClient({ mode: 'anvil', transport: http(rpcUrl) }).extend(publicActions)
  let stopped = false
  let timer: NodeJS.Timeout | undefined
  let running: Promise<void> = Promise.resolve()
  let lastError = ''
  const step = async () => {
    try {
      const latest = await client.getBlock()
      const target = BigInt(Math.floor(nowMs() / 1000))
      await client.setNextBlockTimestamp({ timestamp: target > latest.timestamp ? target : latest.timestamp })
      await client.mine({ blocks: 1 })
      lastError = ''
    } catch (error) {
      const message = (error as Error).message.split('\n')[0]!
      if (message !== lastError) log(`market: cannot move the chain's clock: ${message}`)
      lastError = message
    }
  }
  const loop = () => {
    running = step().finally(() => {
      if (!stopped) timer = setTimeout(loop, stepMs)
    })
  }
  loop()
  return {
    async stop() {
      stopped = true
      clearTimeout(timer)
      await running
    },
  }
}
