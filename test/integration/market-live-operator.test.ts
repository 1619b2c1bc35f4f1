// The live market's operator as a program (issue 15): `gridmesh operator` on anvil (behind
// an RPC proxy the test cuts) and the embedded broker, two light participants the test
// drives (createLiveParticipant, orders from fixed plans, readings it signs). Keys and
// registrations come from `gridmesh market keys` and `gridmesh market register` (the first
// registration deploys the market). Chain time is moved with anvil's clock (60 s intervals).
// Proven: trades commit, settle and finalize once; a withheld reading is settled absent;
// kill -9 of the operator before and after a gate, and a restart: the same clearing, nothing
// twice; an RPC outage while a settlement is queued: it goes out once afterwards; orders
// after the gate are counted late; every operator transaction on chain succeeded and each
// came from one outbox entry.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { createPublicClient, createTestClient, http, type Address, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { keystorePassphraseEnv, loadKeystore } from '../../core/chain/keystore.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { connectLiveNode, type LiveNode } from '../../core/market/live/connectLiveNode.ts'
import { createChainSiteLookup } from '../../core/market/live/createChainSiteLookup.ts'
import { createLiveInbox, type LiveInbox } from '../../core/market/live/createLiveInbox.ts'
import { createLiveParticipant } from '../../core/market/live/createLiveParticipant.ts'
import { createLiveValidator } from '../../core/market/live/createLiveValidator.ts'
import { createSigningJournal } from '../../core/market/live/createSigningJournal.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../core/market/live/startEmbeddedBroker.ts'
import type { MarketLedger } from '../../core/market/marketLedgerSchema.ts'
import { SIDE_ASK, SIDE_BID, createMarketDomain, type Order } from '../../core/market/typedData.ts'
import { gateClosesAt } from '../../core/trading/gateClosesAt.ts'
import { startRpcProxy, type RpcProxy } from '../support/rpcProxy.ts'

const cli = fileURLToPath(new URL('../../bin/gridmesh.js', import.meta.url))
const passphrase = `operator-test-${process.pid}`
const env = { ...process.env, [keystorePassphraseEnv]: passphrase }
const windows = { intervalSec: 60, settleWindowSec: 240, disputeWindowSec: 30 }
const outageMs = Number(process.env.GRIDMESH_TEST_OUTAGE_MS ?? 30_000)

type Proc = { child: ChildProcess; lines: string[]; err: () => string; waitFor(re: RegExp, ms: number): Promise<RegExpExecArray> }
const procs = new Set<ChildProcess>()
function gridmesh(args: string[]): Proc {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  procs.add(child)
  child.once('exit', () => procs.delete(child))
  const lines: string[] = []
  let err = ''
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)))
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l))
  return {
    child,
    lines,
    err: () => err,
    async waitFor(re, ms) {
      for (const end = Date.now() + ms; Date.now() < end; await sleep(100)) {
        for (const l of lines) {
          const m = re.exec(l)
          if (m) return m
        }
        if (child.exitCode !== null || child.signalCode !== null) break
      }
      throw new Error(`gridmesh ${args[0]}: no line ${re}; exit ${child.exitCode ?? child.signalCode}\n${lines.join('\n')}\n${err}`)
    },
  }
}
async function runToEnd(args: string[]): Promise<string> {
  const p = gridmesh(args)
  const code = await new Promise<number | null>((r) => p.child.once('exit', (c) => r(c)))
  if (code !== 0) throw new Error(`gridmesh ${args.join(' ')} exited ${code}:\n${p.lines.join('\n')}\n${p.err()}`)
  return p.lines.join('\n')
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
async function until<T>(what: string, f: () => Promise<T | null | undefined | false> | T | null | undefined | false, ms = 30_000): Promise<T> {
  for (const end = Date.now() + ms; ; await sleep(100)) {
    const v = await f()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
  }
}

describe('gridmesh operator on anvil and the embedded broker', () => {
  let anvil: Anvil
  let proxy: RpcProxy
  let broker: EmbeddedBroker
  let work: string
  const nodes: LiveNode[] = []
  let operator: Proc | null = null

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31337 })
    proxy = await startRpcProxy({ host: '127.0.0.1', port: Number(new URL(anvil.rpcUrl).port) })
    work = mkdtempSync(join(tmpdir(), 'gm-operator-'))
  }, 60_000)
  afterAll(async () => {
    for (const c of procs) c.kill('SIGKILL')
    await Promise.all(nodes.map((n) => n.transport.close().catch(() => {})))
    await broker?.close()
    await proxy?.close()
    await anvil?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('clears, commits, settles and finalizes every trade once, through a withheld reading, two kill -9 restarts and an RPC outage', async () => {
    const client = createPublicClient({ transport: http(anvil.rpcUrl) })
    const test = createTestClient({ mode: 'anvil', transport: http(anvil.rpcUrl) })
    const chainNow = async () => (await client.getBlock()).timestamp
    const warpTo = async (t: bigint) => {
      if ((await chainNow()) >= t) return
      await test.setNextBlockTimestamp({ timestamp: t })
      await test.mine({ blocks: 1 })
    }

    // ---- provisioning through the CLI: keys, registration (deploys the market), funding ----
    const opData = join(work, 'operator')
    mkdirSync(opData)
    const opSiteFile = join(work, 'operator.yaml')
    const chain = { rpcUrl: proxy.url, chainId: 31337 }
    const opSite = (extra: Record<string, unknown>) => ({ name: 'operator', devices: [{ name: 'none', connection: { type: 'tcp', host: '127.0.0.1', port: 1 } }], market: { chain, ...windows, ...extra } })
    writeFileSync(opSiteFile, stringify(opSite({})))
    const keys: { owner: Address; meter: Address }[] = []
    for (const s of [0, 1]) keys.push(JSON.parse(await runToEnd(['market', 'keys', '--data', join(work, `site-${s}`)])) as { owner: Address; meter: Address })
    // a second run keeps the files
    expect(JSON.parse(await runToEnd(['market', 'keys', '--data', join(work, 'site-0')]))).toEqual(keys[0])
    for (const [siteId, k] of keys.entries()) await runToEnd(['market', 'register', '--site', opSiteFile, '--data', opData, '--site-id', String(siteId), '--owner', k.owner, '--meter', k.meter, '--escrow', '50000000'])
    const record = JSON.parse(readFileSync(join(opData, 'chain', 'market.json'), 'utf8')) as { market: Address; operator: Address; deployedAtBlock: string; config: { genesis: string } }
    const market = record.market
    const genesis = BigInt(record.config.genesis)
    const start = (i: bigint) => genesis + i * 60n
    const gate = (i: bigint) => gateClosesAt(start(i), 60n)
    const read = <T>(functionName: string, args: unknown[]) => client.readContract({ address: market, abi: energyMarketAbi, functionName: functionName as never, args: args as never }) as Promise<T>
    expect(await read<bigint>('bondOf', [1])).toBeGreaterThan(0n)

    // ---- broker, operator, participants ----
    const topics = marketTopics(31337, market)
    const users = Object.fromEntries(['operator', 'site-0', 'site-1'].map((u) => [u, `${u}-${process.pid}`]))
    broker = await startEmbeddedBroker({ users, topics })
    writeFileSync(opSiteFile, stringify(opSite({ address: market, broker: { url: broker.url, password: users.operator } })))
    const startOperator = async () => {
      operator = gridmesh(['operator', '--site', opSiteFile, '--data', opData])
      await operator.waitFor(/^operator running: market 0x/, 90_000)
    }
    await startOperator()

    const domain = createMarketDomain(31337, market)
    const lookupSite = createChainSiteLookup({ client, market })
    let siteNowS = await chainNow()
    const clearings = new Map<bigint, Set<Hex>>()
    const sites = await Promise.all(
      [0, 1].map(async (siteId) => {
        const dir = join(work, `site-${siteId}`)
        const owner = privateKeyToAccount(await loadKeystore(join(dir, 'keys', 'owner.json'), passphrase))
        const meter = privateKeyToAccount(await loadKeystore(join(dir, 'keys', 'meter.json'), passphrase))
        const node = await connectLiveNode({ broker: { url: broker.url, password: users[`site-${siteId}`]! }, topics, domain, siteId, presenceKey: owner })
        nodes.push(node)
        const validator = createLiveValidator({ domain, topics, operator: record.operator, lookupSite, readingDeadline: (i) => start(i + 1n) + 240n, nowS: () => siteNowS })
        const inbox: LiveInbox = createLiveInbox({ transport: node.transport, validator })
        inbox.onVerdict((v) => {
          const m = v.ok ? v.message : v.message
          if (m?.kind === 'clearing' && (v.ok || v.reason === 'conflicting')) clearings.set(m.body.interval, new Set([...(clearings.get(m.body.interval) ?? []), `${m.r}${m.vs.slice(2)}` as Hex]))
        })
        // fixed plans: site 0 sells 500 Wh for at least 0.08 /kWh, site 1 buys 300 Wh for at most 0.30 /kWh
        const orderFor = (interval: bigint): Order => ({ siteId, interval, side: siteId === 0 ? SIDE_ASK : SIDE_BID, energyWh: siteId === 0 ? 500 : 300, limitPrice: siteId === 0 ? 80_000n : 300_000n, deadline: start(interval) })
        const participant = createLiveParticipant({ siteId, inbox, publish: node.publish, journal: createSigningJournal(join(dir, 'journal')), owner, meter, domain, orderFor })
        return { siteId, node, inbox, validator, participant }
      }),
    )
    const syncSiteClock = async () => void (siteNowS = await chainNow())
    const statusOf = async (i: bigint) => (await read<[number, bigint, boolean]>('intervalRecord', [i]))[0]

    /** Both sites order for `i` (or not) and the gate closes: resolves once the clearing is out and, when it trades, committed; then the sites sign and publish their readings of `i - 1` (all but `withhold`'s). */
    const step = async (i: bigint, p: { orders: boolean; deliver: boolean; withhold?: number; beforeGate?: () => Promise<void>; afterGate?: () => Promise<void> }) => {
      await warpTo(start(i) - 40n)
      await syncSiteClock()
      if (p.orders) await Promise.all(sites.map((s) => s.participant.placeOrder(i)))
      await sleep(1_500) // on the broker and checked against the registry by the operator
      await p.beforeGate?.()
      await warpTo(gate(i))
      await until(`the clearing of ${i} at both sites`, () => sites.every((s) => s.inbox.clearing(i)), 60_000)
      if (p.orders) await until(`the commit of ${i}`, async () => (await statusOf(i)) >= 1, 30_000)
      await p.afterGate?.()
      if (!p.deliver) return
      await warpTo(start(i) + 1n)
      await syncSiteClock()
      for (const s of sites) if (s.siteId !== p.withhold) await s.participant.publishReading({ interval: i - 1n, importWh: s.siteId === 1 ? 300 : 0, exportWh: s.siteId === 0 ? 500 : 0 })
    }
    const killOperator = async () => {
      operator!.child.kill('SIGKILL')
      await new Promise((r) => operator!.child.once('exit', r))
    }

    const n = (await chainNow() - genesis) / 60n + 2n
    const freeBefore = await Promise.all([0, 1].map((id) => read<bigint>('balanceOf', [id])))
    await step(n, { orders: true, deliver: false })
    for (const s of sites) expect(await s.participant.checkClearing(n)).toMatchObject({ status: 'agrees' })
    // n is committed and nothing else has moved the free balances: what the commit took out of each is its lock, which the ledger names
    const freeAtN = await Promise.all([0, 1].map((id) => read<bigint>('balanceOf', [id])))
    expect(freeAtN[1]).toBeLessThan(freeBefore[1]!) // the buyer's worst case is locked
    await until('the locks of n in the ledger', () => {
      const l = JSON.parse(readFileSync(join(opData, 'operator', 'ledger.json'), 'utf8')) as MarketLedger
      return l.balances.length === 2 && l.balances.every((b) => b.locked === String(freeBefore[b.siteId]! - freeAtN[b.siteId]!)) ? l : null
    }, 30_000)
    // kill -9 with the orders of n+1 accepted and its gate still ahead: the restarted operator clears them from its store
    await step(n + 1n, {
      orders: true,
      deliver: true,
      beforeGate: async () => {
        await killOperator()
        await startOperator()
      },
      // site 0's order of n+1 again, after the gate: late
      afterGate: async () => void (await sites[0]!.participant.placeOrder(n + 1n)),
    })
    expect(sites[0]!.inbox.clearing(n + 1n)!.message.body.orders).toHaveLength(2)
    for (const s of sites) expect(await s.participant.checkClearing(n + 1n)).toMatchObject({ status: 'agrees' })
    await operator!.waitFor(new RegExp(`^interval ${n + 1n}: dropped: late: order:site-0:${n + 1n}:`), 10_000)
    // n+2 carries n's settlement in its step; kill -9 once it is committed, before the operator has read the commit back; n+1's reading of site 1 is withheld
    await step(n + 2n, { orders: true, deliver: true, withhold: 1, afterGate: async () => {
      await killOperator()
      await startOperator()
    } })
    await step(n + 3n, { orders: true, deliver: true })
    // n+4 and later trade nothing: what is due goes out in transactions of its own
    await step(n + 4n, { orders: false, deliver: true })
    // n+5's gate: n+1 is past the contract's grace for the withheld reading (settled absent), n+3 has its readings. The
    // RPC is cut before that gate and restored after it: the operator queues while it is down, and sends once it is back
    await warpTo(gate(n + 5n) - 4n)
    await sleep(2_500) // the operator has seen the chain's new time
    await proxy.cut()
    const cutAt = Date.now()
    await until('the clearing of n+5 during the outage', () => sites.every((s) => s.inbox.clearing(n + 5n)), 60_000)
    await sleep(Math.max(0, outageMs - (Date.now() - cutAt)))
    await proxy.restore()
    // then empty gates until every committed interval is final
    let i = n + 6n
    for (; i < n + 12n; i++) {
      const statuses = await Promise.all([n, n + 1n, n + 2n, n + 3n].map(statusOf))
      if (statuses.every((s) => s === 4)) break
      await step(i, { orders: false, deliver: false })
      await sleep(2_000)
    }
    expect(await Promise.all([n, n + 1n, n + 2n, n + 3n].map(statusOf))).toEqual([4, 4, 4, 4])

    // the operator's ledger says the same, with every transaction
    const ledger = await until('the ledger', () => {
      const l = JSON.parse(readFileSync(join(opData, 'operator', 'ledger.json'), 'utf8')) as MarketLedger
      return l.intervals.filter((x) => x.settlement.state === 'finalized').length === 4 ? l : null
    })
    const byInterval = new Map(ledger.intervals.map((x) => [BigInt(x.interval), x]))
    for (const k of [n, n + 1n, n + 2n, n + 3n]) {
      const x = byInterval.get(k)!
      expect(x.tradedWh).toBe(300)
      expect(x.settlement).toMatchObject({ state: 'finalized', commitTx: expect.stringMatching(/^0x/), settleTx: expect.stringMatching(/^0x/), finalizeTx: expect.stringMatching(/^0x/) })
    }
    expect(byInterval.get(n + 1n)!.readings.map((r) => r.siteId)).toEqual([0])
    expect(byInterval.get(n)!.readings.map((r) => r.siteId)).toEqual([0, 1])
    expect(ledger.balances.map((b) => b.siteId)).toEqual([0, 1])
    // every commit final: nothing locked any more
    expect(ledger.balances.map((b) => b.locked)).toEqual(['0', '0'])

    // one clearing per interval at every site (a restart re-published the same one), none conflicting
    for (const [interval, digests] of clearings) expect(digests.size, `clearings of ${interval}`).toBe(1)
    for (const s of sites) expect(s.validator.counters().conflicting).toBe(0)

    // every operator transaction since the deployment succeeded, and each is one outbox entry's
    operator!.child.kill('SIGTERM')
    await new Promise((r) => operator!.child.once('exit', r))
    const latest = await client.getBlockNumber()
    const sent: Hex[] = []
    for (let b = BigInt(record.deployedAtBlock); b <= latest; b++) {
      const block = await client.getBlock({ blockNumber: b, includeTransactions: true })
      for (const tx of block.transactions) if (tx.from.toLowerCase() === record.operator.toLowerCase() && tx.to?.toLowerCase() === market.toLowerCase()) sent.push(tx.hash)
    }
    const receipts = await Promise.all(sent.map((hash) => client.getTransactionReceipt({ hash })))
    expect(receipts.filter((r) => r.status !== 'success').map((r) => r.transactionHash)).toEqual([])
    const db = new Database(join(opData, 'operator', 'outbox.db'), { readonly: true })
    const entries = db.prepare('SELECT key, status FROM outbox').all() as { key: string; status: string }[]
    const hashes = db.prepare('SELECT hash, key FROM outbox_tx').all() as { hash: Hex; key: string }[]
    db.close()
    expect(entries.filter((e) => e.status === 'reverted' || e.status === 'dropped' || e.status === 'pending' || e.status === 'signed')).toEqual([])
    const keyOfTx = new Map(hashes.map((h) => [h.hash, h.key]))
    // registrations and funding went out before the outbox (market register); what the operator sent since is the outbox's, one transaction per key
    const fromOutbox = sent.filter((h) => keyOfTx.has(h)).map((h) => keyOfTx.get(h)!)
    expect(new Set(fromOutbox).size).toBe(fromOutbox.length)
    expect(fromOutbox.length).toBe(entries.filter((e) => e.status === 'confirmed').length)
    console.log(`operator test: intervals ${n}..${i}, ${fromOutbox.length} operator transactions (${fromOutbox.join(', ')}), outage ${outageMs} ms`)
  }, 420_000)
})
