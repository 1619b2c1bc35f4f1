// One demo site as its own process: its own owner and meter keys, sealed in scrypt key
// files in its key directory and opened with the passphrase from its environment (never
// sent anywhere), its own simulated hardware (core/demo/demoSite), orders from its
// MILP plan's market quantities, its own recomputation of every clearing, and meter
// readings from its simulated grid meter. Talks JSON lines on stdin/stdout with the demo
// coordinator; only addresses leave the process.
//
// usage: node bin/run-ts.js core/demo/demoSiteProcess.ts WORK-DIR (compiled: node dist/core/demo/demoSiteProcess.js WORK-DIR)
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts'
import { encryptKeystore, keystorePassphraseEnv, loadKeystore, saveKeystore } from '../chain/keystore.ts'
import { BaseError } from '../errors/BaseError.ts'
import { getHighs } from '../schedule/getHighs.ts'
import { clearAuction } from '../market/clearAuction.ts'
import { DemoSiteError } from './demoSite/DemoSiteError.ts'
import { orderFromPlan } from '../trading/orderFromPlan.ts'
import { parseSiteRequest, type SiteRequest } from './demoSite/parseSiteRequest.ts'
import { startDemoSite, type DemoSite, type GridCounters } from './demoSite/startDemoSite.ts'
import { toJsonLine } from '../market/jsonLines.ts'
import { signMeterReading, signOrder, type SignedMeterReading } from '../market/signMarketData.ts'

/** The environment variable a site process reads its keystore passphrase from. */
export const passphraseEnv = keystorePassphraseEnv

/** A site's answer to a 'reading' request: the signed reading and how it came about. */
export type SiteReadingAnswer = {
  type: 'reading'
  reading: SignedMeterReading
  /** the grid meter's counters (SunSpec 203 over Modbus) at the interval's start and end */
  meter: { fromMs: number; toMs: number; importWh: [number, number]; exportWh: [number, number] }
  /** the simulator's own grid energy (its HTTP API) at the same instants, for checking the meter path */
  sim: { importWh: [number, number]; exportWh: [number, number] }
  socPct: number | null
  /** what the site's order asked for (> 0 import), and what it traded (> 0 sold), Wh */
  plannedNetImportWh: number | null
  committedNetSellWh: number | null
}

/** Opens `<keyDir>/<name>.json`; seals a new key there first when there is none. */
async function openKey(keyDir: string, name: string, passphrase: string): Promise<PrivateKeyAccount> {
  const path = join(keyDir, `${name}.json`)
  if (!existsSync(path)) {
    mkdirSync(keyDir, { recursive: true, mode: 0o700 })
    saveKeystore(path, await encryptKeystore(generatePrivateKey(), passphrase))
  }
  return privateKeyToAccount(await loadKeystore(path, passphrase))
}

type Hello = Extract<SiteRequest, { type: 'hello' }>

async function main() {
  const workDir = process.argv[2]
  const passphrase = process.env[passphraseEnv]
  const send = (msg: unknown) => process.stdout.write(toJsonLine(msg))
  let site: DemoSite | null = null
  let starting: Promise<DemoSite> | null = null
  let stopping: Promise<void> | null = null
  // A site still starting is waited for, so its simulator is stopped too.
  const stop = () => (stopping ??= (async () => (site ?? (await starting?.catch(() => null)))?.stop())())
  // Stopped from outside: the simulators go with the process.
  process.once('SIGTERM', () => void stop().finally(() => process.exit(143)))
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)))

  let where = 'site ?'
  let owner: PrivateKeyAccount | undefined
  let meter: PrivateKeyAccount | undefined
  let hello: Hello | undefined
  const planned = new Map<bigint, number>()
  const committed = new Map<bigint, number>()
  let boundary: { atMs: number; counters: GridCounters; sim: { importWh: number; exportWh: number } } | null = null
  const intervalStartMs = (interval: bigint) => Number((hello!.genesisS + interval * hello!.intervalSec) * 1000n)
  const ready = () => {
    if (!hello || !site || !owner || !meter) throw new DemoSiteError(`${where}: asked before 'hello'; expected 'hello' first`)
    return { h: hello, s: site, owner, meter }
  }
  /** The site at `atMs` with its counters read there (the loop runs up to it if the sim is behind). */
  const boundaryAt = async (s: DemoSite, atMs: number) => {
    if (s.nowMs() > atMs) throw new DemoSiteError(`${where}: the simulator is at ${new Date(s.nowMs()).toISOString()}, past ${new Date(atMs).toISOString()}; readings go forward in time`)
    await s.runTo(atMs)
    if (boundary?.atMs !== atMs) {
      const sim = await s.simGridEnergyWh()
      boundary = { atMs, counters: await s.readGridCounters(), sim }
    }
    return boundary
  }

  try {
    if (!workDir) throw new DemoSiteError(`siteProcess: no work directory; usage: siteProcess.ts WORK-DIR`)
    if (!passphrase) throw new DemoSiteError(`siteProcess: ${passphraseEnv} is not set; expected the passphrase of the site's key files`)
    for await (const line of createInterface({ input: process.stdin })) {
      const req = parseSiteRequest(line, where)
      if (req.type === 'hello') {
        hello = req
        where = `site ${req.siteId}`
        const slotMs = Number(req.intervalSec) * 1000
        // The keys (scrypt), the solver (wasm) and the site (a simulator process and its history pass) load side by side.
        const keys = Promise.all([openKey(req.keyDir, 'owner', passphrase), openKey(req.keyDir, 'meter', passphrase)])
        const solver = getHighs()
        const started = startDemoSite({
          siteId: req.siteId,
          workDir,
          hardware: req.hardware,
          seed: req.seed,
          startMs: req.startMs,
          slotMs,
          market: { maxBuyPowerW: (req.importCapWh * 3_600_000) / slotMs, maxSellPowerW: (req.exportCapWh * 3_600_000) / slotMs },
        })
        starting = started
        solver.catch(() => undefined)
        ;[[owner, meter], site] = await Promise.all([keys, started, solver])
        send({ type: 'keys', owner: owner.address, meter: meter.address, simApiUrl: site.apiUrl })
      } else if (req.type === 'order') {
        const { h, s, owner } = ready()
        const startMs = intervalStartMs(req.interval)
        if (s.nowMs() > startMs) throw new DemoSiteError(`${where}: asked for an order for interval ${req.interval}, which started at ${new Date(startMs).toISOString()}; the simulator is at ${new Date(s.nowMs()).toISOString()}`)
        // Slots before the ordered interval are cleared already: the market is open from it on.
        const plan = await s.replan(startMs)
        const { planned: slot, order } = orderFromPlan({ plan, siteId: h.siteId, interval: req.interval, intervalStartMs: startMs, deadline: req.deadline, tariff: s.tariff, importCapWh: h.importCapWh, exportCapWh: h.exportCapWh })
        planned.set(req.interval, slot.plannedNetImportWh)
        send({ type: 'order', order: order && (await signOrder(owner, h.domain, order)), planned: { ...slot, planStatus: plan.status, planAtMs: s.nowMs() } })
      } else if (req.type === 'clearing') {
        const { h, s } = ready()
        const mine = clearAuction(req.clearing.interval, req.orders)
        const agrees = toJsonLine(mine) === toJsonLine(req.clearing)
        if (agrees) {
          const soldWh = mine.matches.reduce((sum, m) => sum + (m.sellerSiteId === h.siteId ? m.energyWh : 0) - (m.buyerSiteId === h.siteId ? m.energyWh : 0), 0)
          committed.set(mine.interval, soldWh)
          s.commit(intervalStartMs(mine.interval), soldWh)
        }
        send({ type: 'ack', agrees })
      } else if (req.type === 'reading') {
        const { h, s, meter } = ready()
        const fromMs = intervalStartMs(req.interval)
        const toMs = intervalStartMs(req.interval + 1n)
        const start = await boundaryAt(s, fromMs)
        const end = await boundaryAt(s, toMs)
        const reading = { siteId: h.siteId, interval: req.interval, importWh: end.counters.importWh - start.counters.importWh, exportWh: end.counters.exportWh - start.counters.exportWh }
        const answer: SiteReadingAnswer = {
          type: 'reading',
          reading: await signMeterReading(meter, h.domain, reading),
          meter: { fromMs, toMs, importWh: [start.counters.importWh, end.counters.importWh], exportWh: [start.counters.exportWh, end.counters.exportWh] },
          sim: { importWh: [start.sim.importWh, end.sim.importWh], exportWh: [start.sim.exportWh, end.sim.exportWh] },
          socPct: (await s.simGridEnergyWh()).socPct,
          plannedNetImportWh: planned.get(req.interval) ?? null,
          committedNetSellWh: committed.get(req.interval) ?? null,
        }
        send(answer)
      } else {
        break
      }
    }
  } catch (error) {
    // Said once, to the coordinator, which names this site; then everything this process started stops.
    send({ type: 'error', message: error instanceof BaseError ? error.shortMessage : error instanceof Error ? error.message : String(error) })
    await stop()
    process.exit(1)
  }
  await stop()
}

if (/demoSiteProcess\.[jt]s$/.test(process.argv[1] ?? '')) await main()
