// A site killed with -9 between recording what it signed and publishing it never signs a
// second, different reading for that interval (issue 15, "Faults"): the restarted process
// publishes the recorded one, and the receiver sees one reading and no conflict.
import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectMqtt } from '../../core/market/live/connectMqtt.ts'
import { createLiveValidator, type LiveVerdict } from '../../core/market/live/createLiveValidator.ts'
import { createSigningJournal } from '../../core/market/live/createSigningJournal.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { startEmbeddedBroker, type EmbeddedBroker } from '../../core/market/live/startEmbeddedBroker.ts'
import { createMarketDomain } from '../../core/market/typedData.ts'
import { createSeededRandom } from '../../core/random/createSeededRandom.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const domain = createMarketDomain(31337, market)
const topics = marketTopics(31337, market)
const ownerKey = generatePrivateKey()
const meterKey = generatePrivateKey()
const work = mkdtempSync(join(tmpdir(), 'live-journal-'))
const abs = (p: string) => JSON.stringify(join(root, p))

// The site process: record the reading of INTERVAL (metered IMPORT_WH) in the journal, say
// so, then publish it only when PUBLISH is set; LOOP signs interval after interval instead.
const child = join(work, 'site.mts')
writeFileSync(
  child,
  `import { privateKeyToAccount } from ${abs('node_modules/viem/_esm/accounts/index.js')}
import { createSigningJournal } from ${abs('core/market/live/createSigningJournal.ts')}
import { signLiveMessage } from ${abs('core/market/live/signLiveMessage.ts')}
import { connectMqtt } from ${abs('core/market/live/connectMqtt.ts')}
import { encodeLiveMessage } from ${abs('core/market/live/liveMessageSchema.ts')}
import { marketTopics } from ${abs('core/market/live/marketTopics.ts')}
import { createMarketDomain } from ${abs('core/market/typedData.ts')}
const e = process.env
const domain = createMarketDomain(31337, ${JSON.stringify(market)})
const meter = privateKeyToAccount(e.METER_KEY)
const journal = createSigningJournal(e.JOURNAL)
const sign = (interval, importWh) => () => signLiveMessage(meter, domain, { kind: 'reading', body: { siteId: 3, interval, importWh, exportWh: 0 } })
if (e.LOOP) {
  process.stdout.write('ready\\n')
  for (let i = 100n; ; i++) await journal.recordOnce('reading', 3, i, sign(i, Number(i % 1000n)))
}
const interval = BigInt(e.INTERVAL)
const { message, recorded } = await journal.recordOnce('reading', 3, interval, sign(interval, Number(e.IMPORT_WH)))
process.stdout.write(JSON.stringify({ recorded, importWh: message.body.importWh, r: message.r, vs: message.vs }) + '\\n')
if (e.PUBLISH) {
  const topics = marketTopics(31337, ${JSON.stringify(market)})
  const t = await connectMqtt({ broker: { url: e.URL, username: 'site-3', password: e.PASSWORD }, clientId: 'journal-site-3', clean: false })
  await t.publish(topics.reading(3, interval), encodeLiveMessage(message), { qos: 1 })
  await t.close()
  process.exit(0)
}
setInterval(() => {}, 1000)
`,
)

type Run = { lines: string[]; exited: Promise<number | null>; kill(): void }
function runSite(env: Record<string, string>): Run {
  const proc = spawn(process.execPath, [join(root, 'bin/run-ts.js'), child], { env: { ...process.env, METER_KEY: meterKey, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const lines: string[] = []
  let err = ''
  let buffer = ''
  proc.stdout.on('data', (d: Buffer) => {
    buffer += d.toString()
    const parts = buffer.split('\n')
    buffer = parts.pop()!
    lines.push(...parts)
  })
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()))
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  void exited.then((code) => {
    if (code !== 0 && code !== null) lines.push(`exit ${code}: ${err}`)
  })
  return { lines, exited, kill: () => proc.kill('SIGKILL') }
}

async function until(what: string, ok: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('signing journal across kill -9', () => {
  let broker: EmbeddedBroker
  const passwords = { operator: 'op-pw', 'site-3': 'site-3-pw' }
  beforeAll(async () => {
    broker = await startEmbeddedBroker({ users: passwords, topics })
  })
  afterAll(() => broker?.close())

  it('a site killed after recording its reading and before publishing it publishes that same reading after the restart, never a second one', async () => {
    const nowS = () => BigInt(Math.floor(Date.now() / 1000))
    const validator = createLiveValidator({ domain, topics, operator: privateKeyToAccount(generatePrivateKey()).address, lookupSite: async () => ({ owner: privateKeyToAccount(ownerKey).address, meterKey: privateKeyToAccount(meterKey).address, active: true }), readingDeadline: () => nowS() + 3600n, nowS })
    const watcher = await connectMqtt({ broker: { url: broker.url, username: 'operator', password: passwords.operator }, clientId: 'journal-watcher', clean: true })
    const verdicts: LiveVerdict[] = []
    watcher.onMessage((topic, payload) => void validator.check(topic, payload).then((v) => verdicts.push(v)))
    await watcher.subscribe(topics.all, 1)
    const journal = join(work, 'journal-a')
    const env = { JOURNAL: journal, INTERVAL: '42', URL: broker.url, PASSWORD: passwords['site-3'] }
    try {
      // first life: the meter said 1 234 Wh; recorded, then killed before publishing
      const first = runSite({ ...env, IMPORT_WH: '1234' })
      await until('the first reading recorded', () => first.lines.length > 0)
      first.kill()
      await first.exited
      const signedFirst = JSON.parse(first.lines[0]!) as { recorded: boolean; importWh: number; r: string; vs: string }
      expect(signedFirst).toMatchObject({ recorded: false, importWh: 1234 })
      // second life: the (simulated) meter now says 1 300 Wh for the same interval
      const second = runSite({ ...env, IMPORT_WH: '1300', PUBLISH: '1' })
      expect(await second.exited).toBe(0)
      const signedSecond = JSON.parse(second.lines[0]!) as typeof signedFirst
      expect(signedSecond).toEqual({ ...signedFirst, recorded: true })
      await until('the published reading', () => verdicts.length === 1)
      await new Promise((r) => setTimeout(r, 300))
      expect(verdicts).toHaveLength(1)
      expect(verdicts[0]).toMatchObject({ ok: true, message: { kind: 'reading', body: { siteId: 3, interval: 42n, importWh: 1234 }, r: signedFirst.r, vs: signedFirst.vs } })
      expect(validator.counters()).toMatchObject({ accepted: 1, conflicting: 0 })
    } finally {
      await watcher.close()
    }
  }, 180_000)

  it('kill -9 at random moments while signing interval after interval leaves only whole entries, one per interval', async () => {
    const seed = Number(process.env.GRIDMESH_TEST_SEED ?? 15)
    console.log(`market-live-journal: kill delays from seed ${seed} (GRIDMESH_TEST_SEED)`)
    const random = createSeededRandom(seed)
    const dir = join(work, 'journal-b')
    const before: Map<bigint, string> = new Map()
    for (let round = 0; round < 3; round++) {
      const run = runSite({ JOURNAL: dir, LOOP: '1' })
      await until('the looping site ready', () => run.lines.includes('ready'))
      await new Promise((r) => setTimeout(r, 100 + Math.floor(random() * 400)))
      run.kill()
      await run.exited
      const entries = createSigningJournal(dir).list('reading')
      expect(entries.length).toBeGreaterThan(0)
      // whole entries, one per interval from 100 on without a gap, each its own interval's reading
      expect(entries.map((m) => m.body.interval)).toEqual(entries.map((_, i) => 100n + BigInt(i)))
      for (const m of entries) expect(m.body.importWh).toBe(Number(m.body.interval % 1000n))
      // what an earlier life signed is what is recorded now: never re-signed
      for (const m of entries) {
        const earlier = before.get(m.body.interval)
        if (earlier) expect(`${m.r}${m.vs}`).toBe(earlier)
        before.set(m.body.interval, `${m.r}${m.vs}`)
      }
    }
  }, 180_000)
})
