// The live market's transport against real brokers (issue 15): Debian's Mosquitto with
// per-site credentials and ACLs, and the embedded aedes broker with the same rule. Each
// case runs on both; a missing Mosquitto fails the suite (scripts/system-deps.js installs it).
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectLiveNode } from '../../core/market/live/connectLiveNode.ts'
import { connectMqtt, type MqttTransport } from '../../core/market/live/connectMqtt.ts'
import { createLiveValidator, type LiveVerdict, type SiteKeys } from '../../core/market/live/createLiveValidator.ts'
import { encodeLiveMessage, type LiveMessage } from '../../core/market/live/liveMessageSchema.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { signLiveMessage } from '../../core/market/live/signLiveMessage.ts'
import { startEmbeddedBroker } from '../../core/market/live/startEmbeddedBroker.ts'
import { createMarketDomain, SIDE_ASK, type Order } from '../../core/market/typedData.ts'
import { startMosquitto } from '../support/mosquitto.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const domain = createMarketDomain(31337, market)
const topics = marketTopics(31337, market)
const operator = privateKeyToAccount(generatePrivateKey())
const ownerKeys = [0, 1, 2].map(() => generatePrivateKey())
const owners = ownerKeys.map((k) => privateKeyToAccount(k))
const meters = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()))
const registry = new Map<number, SiteKeys>(owners.map((o, i) => [i, { owner: o.address, meterKey: meters[i]!.address, active: true }]))
const nowS = () => BigInt(Math.floor(Date.now() / 1000))

type Broker = { url: string; passwords: Record<string, string>; stop(): Promise<void>; restart?: () => Promise<void> }
const brokers: { name: string; start(): Promise<Broker> }[] = [
  {
    name: 'mosquitto',
    start: async () => startMosquitto({ topics, sites: [0, 1, 2], strangers: ['stranger'] }),
  },
  {
    name: 'embedded (aedes)',
    start: async () => {
      const passwords = Object.fromEntries(['operator', 'site-0', 'site-1', 'site-2', 'stranger'].map((u) => [u, `pw-${u}-${Math.random().toString(36).slice(2)}`]))
      const b = await startEmbeddedBroker({ users: passwords, topics })
      return { url: b.url, passwords, stop: b.close }
    },
  },
]

async function until(what: string, ok: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const order = (siteId: number, interval: bigint, patch: Partial<Order> = {}): Order => ({ siteId, interval, side: SIDE_ASK, energyWh: 400, limitPrice: 90_000n, deadline: nowS() + 600n, ...patch })
const signed = <K extends LiveMessage['kind']>(by: (typeof owners)[number], kind: K, body: Extract<LiveMessage, { kind: K }>['body']) => signLiveMessage<Extract<LiveMessage, { kind: K }>>(by, domain, { kind, body } as never)

/** A subscriber that runs every message through a validator, as a site or the operator will. */
async function watch(broker: Broker, user: string, options: { clean?: boolean; clientId?: string } = {}) {
  const validator = createLiveValidator({ domain, topics, operator: operator.address, lookupSite: async (id) => registry.get(id) ?? null, readingDeadline: (i) => nowS() + 3600n + i * 0n, nowS })
  const transport = await connectMqtt({ broker: { url: broker.url, username: user, password: broker.passwords[user]! }, clientId: options.clientId ?? `watch-${user}-${Math.random().toString(36).slice(2)}`, clean: options.clean ?? true })
  const verdicts: { topic: string; verdict: LiveVerdict }[] = []
  transport.onMessage((topic, payload) => void validator.check(topic, payload).then((verdict) => verdicts.push({ topic, verdict })))
  await transport.subscribe(topics.all, 1)
  return { transport, validator, verdicts, accepted: () => verdicts.filter((v) => v.verdict.ok) }
}

const connectAs = (broker: Broker, user: string, clientId = `${user}-${Math.random().toString(36).slice(2)}`) => connectMqtt({ broker: { url: broker.url, username: user, password: broker.passwords[user]! }, clientId, clean: true })

for (const target of brokers) {
  describe(`live market on ${target.name}`, () => {
    let broker: Broker
    const open: MqttTransport[] = []
    beforeAll(async () => {
      broker = await target.start()
    })
    afterAll(async () => {
      await Promise.all(open.map((t) => t.close().catch(() => {})))
      await broker?.stop()
    })

    it('delivers a site\'s own order and refuses one it publishes as another site (ACL); an unlisted user can publish nothing', async () => {
      const watcher = await watch(broker, 'operator')
      const site1 = await connectAs(broker, 'site-1')
      const site0 = await connectAs(broker, 'site-0')
      const stranger = await connectAs(broker, 'stranger')
      open.push(watcher.transport, site1, site0, stranger)
      // site 1 tries to place site 0's order (even one site 0 signed, replayed by site 1)
      const asSite0 = await signed(owners[0]!, 'order', order(0, 10n))
      const spoof = Promise.race([site1.publish(topics.order(0, 10n), encodeLiveMessage(asSite0), { qos: 0 }), new Promise((r) => setTimeout(r, 2_000))])
      const strangerTry = Promise.race([stranger.publish(topics.order(2, 10n), encodeLiveMessage(await signed(owners[2]!, 'order', order(2, 10n))), { qos: 0 }), new Promise((r) => setTimeout(r, 2_000))])
      await Promise.allSettled([spoof, strangerTry])
      const own = await signed(owners[0]!, 'order', order(0, 11n))
      await site0.publish(topics.order(0, 11n), encodeLiveMessage(own), { qos: 1 })
      await until('site 0\'s own order', () => watcher.accepted().length === 1)
      await new Promise((r) => setTimeout(r, 500))
      expect(watcher.verdicts.map((v) => v.topic)).toEqual([topics.order(0, 11n)])
      expect(watcher.validator.counters()).toMatchObject({ accepted: 1, forged: 0 })
    })

    it('drops and counts forged, replayed, late and oversized orders a site publishes on its own topic', async () => {
      const watcher = await watch(broker, 'operator')
      const site1 = await connectAs(broker, 'site-1')
      open.push(watcher.transport, site1)
      watcher.validator.acceptFrom('order', 20n)
      const outsider = privateKeyToAccount(generatePrivateKey())
      const forged = await signed(outsider, 'order', order(1, 20n))
      const replayed = await signed(owners[1]!, 'order', order(1, 19n))
      const late = await signed(owners[1]!, 'order', order(1, 21n, { deadline: nowS() - 1n }))
      const valid = await signed(owners[1]!, 'order', order(1, 22n))
      for (const m of [forged, replayed, late, valid]) await site1.publish(topics.order(1, m.body.interval), encodeLiveMessage(m), { qos: 1 })
      await until('four verdicts', () => watcher.verdicts.length === 4)
      expect(watcher.verdicts.map((v) => (v.verdict.ok ? 'accepted' : v.verdict.reason)).sort()).toEqual(['accepted', 'forged', 'late', 'replayed'])
      // oversized: 2 KB on an order topic (an order may have 1 KB)
      const big = Buffer.concat([encodeLiveMessage(valid).subarray(0, -1), Buffer.from(`,"pad":"${'x'.repeat(2048)}"}`)])
      await Promise.race([site1.publish(topics.order(1, 22n), big, { qos: 0 }), new Promise((r) => setTimeout(r, 2_000))])
      if (target.name === 'mosquitto') {
        // Mosquitto's packet limit is the clearing's (64 KB): the receiver drops it
        await until('the oversized order counted', () => watcher.validator.counters().oversized === 1)
      } else {
        // the embedded broker refuses it itself (authorizeTopic checks the size): nothing reaches the receiver
        const site2 = await connectAs(broker, 'site-2')
        open.push(site2)
        await site2.publish(topics.order(2, 22n), encodeLiveMessage(await signed(owners[2]!, 'order', order(2, 22n))), { qos: 1 })
        await until('site 2\'s order after the oversized one', () => watcher.verdicts.length === 5)
        expect(watcher.verdicts[4]!.topic).toBe(topics.order(2, 22n))
      }
      expect(watcher.validator.counters()).toMatchObject({ accepted: target.name === 'mosquitto' ? 1 : 2, forged: 1, replayed: 1, late: 1, oversized: target.name === 'mosquitto' ? 1 : 0 })
    })

    it('shows a site online (retained) and, when its process is killed with -9, offline by its last will', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'live-presence-'))
      // .mts: a module outside the repository's package; imports by absolute path
      const child = join(dir, 'site.mts')
      writeFileSync(
        child,
        `import { privateKeyToAccount } from ${JSON.stringify(join(root, 'node_modules/viem/_esm/accounts/index.js'))}
import { connectLiveNode } from ${JSON.stringify(join(root, 'core/market/live/connectLiveNode.ts'))}
import { marketTopics } from ${JSON.stringify(join(root, 'core/market/live/marketTopics.ts'))}
import { createMarketDomain } from ${JSON.stringify(join(root, 'core/market/typedData.ts'))}
const e = process.env
await connectLiveNode({ broker: { url: e.URL!, username: 'site-2', password: e.PASSWORD! }, topics: marketTopics(31337, ${JSON.stringify(market)}), domain: createMarketDomain(31337, ${JSON.stringify(market)}), siteId: 2, presenceKey: privateKeyToAccount(e.KEY as \`0x\${string}\`) })
process.stdout.write('online\\n')
setInterval(() => {}, 1000)
`,
      )
      const key = ownerKeys[2]!
      const watcher = await watch(broker, 'operator')
      open.push(watcher.transport)
      const proc = spawn(process.execPath, [join(root, 'bin/run-ts.js'), child], { env: { ...process.env, URL: broker.url, PASSWORD: broker.passwords['site-2'], KEY: key }, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
      proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
      try {
        await until('site 2 online', () => {
          if (proc.exitCode !== null) throw new Error(`the site process exited with ${proc.exitCode}: ${out}`)
          return watcher.validator.presence()['site-2']?.online === true
        }, 60_000)
        proc.kill('SIGKILL')
        await until('site 2 offline by its will', () => watcher.validator.presence()['site-2']?.online === false, 30_000)
        const epoch = watcher.validator.presence()['site-2']!.epoch
        // a node connecting later finds the retained offline message
        const late = await watch(broker, 'site-0')
        open.push(late.transport)
        await until('the retained offline presence', () => late.validator.presence()['site-2'] !== undefined)
        expect(late.validator.presence()['site-2']).toEqual({ online: false, epoch })
        expect(watcher.validator.counters().forged).toBe(0)
      } finally {
        proc.kill('SIGKILL')
      }
    }, 120_000)

    it('delivers a QoS 1 reading published while the operator was away once it reconnects with its persistent session', async () => {
      const clientId = `${topics.clientId(null)}-persist-${Math.random().toString(36).slice(2)}`
      const away = await watch(broker, 'operator', { clean: false, clientId })
      await away.transport.close()
      const site0 = await connectLiveNode({ broker: { url: broker.url, password: broker.passwords['site-0']! }, topics, domain, siteId: 0, presenceKey: owners[0]! })
      const reading = await signed(meters[0]!, 'reading', { siteId: 0, interval: 30n, importWh: 12, exportWh: 340 })
      await site0.publish(reading)
      await site0.close()
      const back = await watch(broker, 'operator', { clean: false, clientId })
      open.push(back.transport)
      await until('the reading queued for the operator', () => back.accepted().some((v) => v.topic === topics.reading(0, 30n)))
      const got = back.accepted().find((v) => v.topic === topics.reading(0, 30n))!.verdict
      expect(got.ok && got.signer).toBe(meters[0]!.address)
      expect(got.ok && got.message.body).toEqual(reading.body)
    })

    it('refuses a wrong password with the URL (no password) and the reason', async () => {
      const error = await connectMqtt({ broker: { url: broker.url, username: 'site-0', password: 'wrong-password' }, clientId: 'bad-pw', clean: true, connectTimeoutMs: 10_000 }).catch((e: Error) => e)
      expect(error).toBeInstanceOf(Error)
      expect((error as Error).message).toMatch(new RegExp(`cannot connect to the broker at ${broker.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} as site-0: (bad user name or password|not authorized)`))
      expect((error as Error).message).not.toContain('wrong-password')
    })
  })
}

// A broker restart is Mosquitto's case (its sessions persist on disk; the embedded broker lives and dies with its process).
describe('live market across a Mosquitto restart', () => {
  let broker: Awaited<ReturnType<typeof startMosquitto>>
  const open: MqttTransport[] = []
  beforeAll(async () => {
    broker = await startMosquitto({ topics, sites: [0, 1, 2] })
  })
  afterAll(async () => {
    await Promise.all(open.map((t) => t.close().catch(() => {})))
    await broker?.stop()
  })

it('keeps a reading published while the broker is down and delivers it after the restart; the site says online again with a newer epoch', async () => {
    const clientId = `${topics.clientId(null)}-restart-${Math.random().toString(36).slice(2)}`
    const watcher = await watch(broker, 'operator', { clean: false, clientId })
    open.push(watcher.transport)
    const site0 = await connectLiveNode({ broker: { url: broker.url, password: broker.passwords['site-0']! }, topics, domain, siteId: 0, presenceKey: owners[0]!, reconnectPeriodMs: 200 })
    open.push(site0.transport)
    await until('site 0 online', () => watcher.validator.presence()['site-0']?.online === true)
    const firstEpoch = site0.epoch()
    await broker.stop()
    await until('both clients see the broker gone', () => !site0.transport.connected && !watcher.transport.connected)
    const reading = await signed(meters[0]!, 'reading', { siteId: 0, interval: 40n, importWh: 0, exportWh: 777 })
    // QoS 1: MQTT.js keeps it and sends it once connected again
    const sent = site0.publish(reading)
    await broker.restart!()
    await sent
    await until('the reading after the restart', () => watcher.accepted().some((v) => v.topic === topics.reading(0, 40n)), 30_000)
    await until('site 0 online with a newer epoch', () => (watcher.validator.presence()['site-0']?.epoch ?? 0n) > firstEpoch && watcher.validator.presence()['site-0']?.online === true, 30_000)
    expect(site0.epoch()).toBeGreaterThan(firstEpoch)
    expect(watcher.validator.counters()).toMatchObject({ forged: 0, conflicting: 0 })
  }, 120_000)
})
