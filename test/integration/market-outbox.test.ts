// The settlement outbox against anvil: idempotent keys, simulation before a nonce is
// spent, fee bumps that keep the nonce, and kill -9 / RPC outages that still end with
// every interval settled exactly once.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeFunctionData, parseEventLogs, type Hex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { energyMarketAbi } from '../../contracts/abi.ts'
import { createLocalMarket, type LocalMarket } from '../support/createLocalMarket.ts'
import { createOutbox, OutboxConflictError } from '../../core/chain/createOutbox.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import { packReading } from '../../core/market/encodeClearing.ts'
import { SIDE_ASK, SIDE_BID } from '../../core/market/typedData.ts'
import { clear, commit, exactDelivery, signOrders, signReadings, type OrderSpec } from '../fixtures/market/marketFlow.ts'

let anvil: Anvil
let lm: LocalMarket
const dir = mkdtempSync(join(tmpdir(), 'gm-outbox-'))

beforeAll(async () => {
  anvil = await startAnvil()
  lm = await createLocalMarket({ rpcUrl: anvil.rpcUrl, chainId: anvil.chainId, sites: 4 })
})

afterAll(async () => {
  await anvil?.stop()
})

const specs: OrderSpec[] = [
  { site: 0, side: SIDE_ASK, energyWh: 2000, limitPrice: 90_000n },
  { site: 1, side: SIDE_BID, energyWh: 1500, limitPrice: 180_000n },
  { site: 2, side: SIDE_ASK, energyWh: 1000, limitPrice: 100_000n },
  { site: 3, side: SIDE_BID, energyWh: 1200, limitPrice: 160_000n },
]

/** Commits `count` consecutive intervals, lets them end, and returns their settle calldata. */
async function settleJobs(count: number) {
  const jobs: { key: string; to: `0x${string}`; data: Hex; interval: bigint }[] = []
  for (let i = 0; i < count; i++) {
    const next = await lm.nextInterval()
    await lm.warpTo(lm.intervalStart(next))
    const interval = next + 1n
    const clearing = clear(interval, await signOrders(lm, interval, specs))
    const committed = await commit(lm, clearing)
    const readings = await signReadings(lm, clearing, exactDelivery(clearing))
    const data = encodeFunctionData({
      abi: energyMarketAbi,
      functionName: 'settle',
      args: [interval, clearing.price, committed.siteRefs, clearing.matches, readings.map(packReading)],
    })
    jobs.push({ key: `settle:${lm.market}:${interval}`, to: lm.market, data, interval })
  }
  const last = jobs[jobs.length - 1]!.interval
  await lm.warpTo(lm.intervalStart(last + 1n))
  return jobs
}

async function newSettler() {
  const account = privateKeyToAccount(generatePrivateKey())
  await lm.test.setBalance({ address: account.address, value: 10n ** 18n })
  return account
}

describe('outbox', () => {
  it('queues a key once, settles it once, and rejects what would revert without spending a nonce', async () => {
    const [job] = await settleJobs(1)
    const account = await newSettler()
    const outbox = createOutbox({ path: join(dir, 'a.db'), client: lm.client, account, chainId: lm.chain.id, abi: energyMarketAbi })
    outbox.enqueue(job!.key, job!)
    outbox.enqueue(job!.key, job!)
    expect(() => outbox.enqueue(job!.key, { ...job!, data: '0x00' })).toThrow(OutboxConflictError)
    expect(outbox.list()).toHaveLength(1)
    // anvil mines right after the broadcast; a busy machine may need another pass to see it
    for (let pass = 0; pass < 20 && (await outbox.processOnce()).open > 0; pass++) await new Promise((r) => setTimeout(r, 50))
    expect(await outbox.processOnce()).toEqual({ confirmed: 1, open: 0, rpcError: null })
    expect(await lm.client.getTransactionCount({ address: account.address })).toBe(1)
    outbox.enqueue(`${job!.key}:again`, job!)
    await outbox.processOnce()
    const again = outbox.get(`${job!.key}:again`)!
    expect([again.status, again.error, again.nonce]).toEqual(['rejected', 'reverts in simulation: AlreadySettled', null])
    expect(await lm.client.getTransactionCount({ address: account.address })).toBe(1)
    outbox.close()
  })

  it('bumps the fee of a stuck transaction with the same nonce; exactly one lands', async () => {
    const [job] = await settleJobs(1)
    const account = await newSettler()
    let clock = 0
    const outbox = createOutbox({ path: join(dir, 'b.db'), client: lm.client, account, chainId: lm.chain.id, bumpAfterMs: 1_000, now: () => clock })
    await lm.test.setAutomine(false)
    try {
      outbox.enqueue(job!.key, job!)
      expect((await outbox.processOnce()).open).toBe(1)
      clock += 1_000
      await outbox.processOnce()
      const entry = outbox.get(job!.key)!
      expect(entry.hashes).toHaveLength(2)
      expect(entry.status).toBe('signed')
      await lm.test.mine({ blocks: 1 })
    } finally {
      await lm.test.setAutomine(true)
    }
    for (let pass = 0; pass < 20 && (await outbox.processOnce()).open > 0; pass++) await new Promise((r) => setTimeout(r, 50))
    expect(await outbox.processOnce()).toMatchObject({ confirmed: 1, open: 0 })
    expect(await lm.client.getTransactionCount({ address: account.address })).toBe(1)
    outbox.close()
  })

  it('after kill -9 mid-settlement and during an RPC outage, every interval settles exactly once', async () => {
    const jobs = await settleJobs(5)
    const settlerKey = generatePrivateKey()
    const settler = privateKeyToAccount(settlerKey)
    await lm.test.setBalance({ address: settler.address, value: 10n ** 18n })
    const jobsFile = join(dir, 'jobs.json')
    writeFileSync(jobsFile, JSON.stringify(jobs.map(({ key, to, data }) => ({ key, to, data }))))

    // a TCP proxy in front of anvil that can drop every connection (the RPC outage)
    let down = false
    const sockets = new Set<Socket>()
    const proxy: Server = createServer((socket) => {
      if (down) return socket.destroy()
      const upstream = connect(anvil.port, '127.0.0.1')
      sockets.add(socket).add(upstream)
      socket.pipe(upstream).pipe(socket)
      const drop = () => {
        socket.destroy()
        upstream.destroy()
        sockets.delete(socket)
        sockets.delete(upstream)
      }
      socket.on('error', drop).on('close', drop)
      upstream.on('error', drop).on('close', drop)
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    const proxyPort = (proxy.address() as { port: number }).port
    const setDown = (value: boolean) => {
      down = value
      if (value) for (const s of sockets) s.destroy()
    }

    const worker = (): ChildProcess =>
      spawn(process.execPath, ['bin/run-ts.js', 'test/fixtures/market/outboxWorker.ts'], {
        env: {
          ...process.env,
          GM_RPC: `http://127.0.0.1:${proxyPort}`,
          GM_DB: join(dir, 'restart.db'),
          GM_JOBS: jobsFile,
          GM_KEY: settlerKey,
          GM_CHAIN_ID: String(lm.chain.id),
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    const exited = (child: ChildProcess) =>
      new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    const waitFor = async (check: () => Promise<boolean>) => {
      while (!(await check())) await new Promise((r) => setTimeout(r, 50))
    }
    const sent = () => lm.client.getTransactionCount({ address: settler.address })

    try {
      // 1: killed after its first settlement went through
      const first = worker()
      const firstExit = exited(first)
      await waitFor(async () => (await sent()) >= 1)
      first.kill('SIGKILL')
      await firstExit
      // 2: starts while the RPC is down and is killed during the outage
      setDown(true)
      const second = worker()
      let stderr = ''
      second.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
      const secondExit = exited(second)
      await new Promise((r) => setTimeout(r, 1_500))
      second.kill('SIGKILL')
      await secondExit
      expect(stderr).not.toContain(settlerKey.slice(2))
      // 3: the RPC is back; this one finishes
      setDown(false)
      const third = worker()
      expect(await exited(third)).toBe(0)
    } finally {
      setDown(true)
      proxy.close()
    }

    for (const job of jobs) {
      const [status] = await lm.client.readContract({ address: lm.market, abi: energyMarketAbi, functionName: 'intervalRecord', args: [job.interval] })
      expect(status).toBe(2)
    }
    // exactly once: one transaction per interval from the settler, one IntervalSettled each
    expect(await sent()).toBe(jobs.length)
    const logs = await lm.client.getLogs({ address: lm.market, fromBlock: 0n })
    const settled = parseEventLogs({ abi: energyMarketAbi, logs, eventName: 'IntervalSettled' }).map((l) => l.args.interval)
    for (const job of jobs) expect(settled.filter((i) => i === job.interval)).toHaveLength(1)
  }, 120_000)
})
