// The operator's bad input (issue 15, "Bad input"), each with a message naming what and
// where: no market or broker section, no passphrase, an unreachable broker, a broker that
// is not MQTT, bad TLS files, an operator key that is not the market's operator, a
// market.address with no contract and one that is not the data folder's market. On anvil;
// the first start deploys the market even when the broker then fails.
import { createServer, type Server, type Socket } from 'node:net'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encryptKeystore, saveKeystore } from '../../core/chain/keystore.ts'
import { startAnvil, type Anvil } from '../../core/chain/startAnvil.ts'
import type { SiteFile } from '../../core/devices/site/siteFileSchema.ts'
import { siteFileSchema } from '../../core/devices/site/siteFileSchema.ts'
import { startLiveOperator } from '../../core/trading/startLiveOperator.ts'

const passphrase = 'operator input test'

describe('gridmesh operator: bad input', () => {
  let anvil: Anvil
  let work: string
  let silent: Server
  let silentPort = 0
  const silentSockets: Socket[] = []
  const siteWith = (market: Record<string, unknown> | undefined): SiteFile =>
    siteFileSchema.parse({ name: 'operator', devices: [{ name: 'none', connection: { type: 'tcp', host: '127.0.0.1', port: 1 } }], ...(market ? { market: { chain: { rpcUrl: anvil.rpcUrl, chainId: 31337 }, intervalSec: 60, settleWindowSec: 240, disputeWindowSec: 30, ...market } } : {}) })
  const start = (dataDir: string, market: Record<string, unknown> | undefined, pass: string = passphrase) =>
    startLiveOperator({ site: siteWith(market), dataDir, siteFileDir: work, passphrase: pass, connectTimeoutMs: 1_500 }).then(
      async (op) => {
        await op.stop()
        throw new Error('the operator started')
      },
      (error: unknown) => error as Error,
    )

  beforeAll(async () => {
    anvil = await startAnvil({ chainId: 31337 })
    work = mkdtempSync(join(tmpdir(), 'gm-operator-input-'))
    // accepts TCP, never answers MQTT
    silent = createServer((socket) => {
      silentSockets.push(socket)
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    silentPort = (silent.address() as { port: number }).port
  }, 60_000)
  afterAll(async () => {
    for (const socket of silentSockets) socket.destroy()
    await new Promise((r) => silent?.close(r))
    await anvil?.stop()
    if (work) rmSync(work, { recursive: true, force: true })
  })

  it('names each bad setting and where it is', async () => {
    const data = join(work, 'op')
    expect((await start(data, undefined)).message).toMatch(/^site file: market: missing; expected the market section/)
    expect((await start(data, {})).message).toMatch(/^site file: market\.broker: missing; expected the broker/)
    expect((await start(data, { broker: { url: 'mqtt://127.0.0.1:1' } }, '')).message).toMatch(/GRIDMESH_KEYSTORE_PASSPHRASE is not set; expected the passphrase of the operator key/)

    // the first start deploys the market, then cannot reach the broker: named with its URL, and the market stays recorded
    const closed = createServer()
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()))
    const closedPort = (closed.address() as { port: number }).port
    await new Promise((r) => closed.close(r))
    const unreachable = await start(data, { broker: { url: `mqtt://operator:pw@127.0.0.1:${closedPort}` } })
    expect(unreachable.message).toMatch(new RegExp(`cannot connect to the broker at mqtt://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${closedPort}.*ECONNREFUSED`))
    expect(unreachable.message).not.toContain(':pw@')
    expect(existsSync(join(data, 'chain', 'market.json'))).toBe(true)
    const market = (JSON.parse(readFileSync(join(data, 'chain', 'market.json'), 'utf8')) as { market: string }).market

    expect((await start(data, { broker: { url: `mqtt://127.0.0.1:${silentPort}` } })).message).toMatch(new RegExp(`cannot connect to the broker at mqtt://127\\.0\\.0\\.1:${silentPort}`))
    expect((await start(data, { broker: { url: `http://127.0.0.1:${silentPort}` } })).message).toMatch(/broker url http:\/\/127\.0\.0\.1:\d+: scheme http; expected mqtt:\/\//)
    expect((await start(data, { broker: { url: `mqtts://127.0.0.1:${silentPort}`, caFile: 'no-such-ca.pem' } })).message).toMatch(new RegExp(`broker caFile ${join(work, 'no-such-ca.pem').replace(/[.]/g, '\\.')}: .*expected a PEM file`))
    writeFileSync(join(work, 'not-pem.pem'), 'hello')
    expect((await start(data, { broker: { url: `mqtts://127.0.0.1:${silentPort}`, caFile: 'not-pem.pem' } })).message).toMatch(/broker caFile .*not-pem\.pem: not PEM/)

    // market.address: one without a contract, and one that is not this data folder's market
    const nowhere = privateKeyToAccount(generatePrivateKey()).address
    expect((await start(join(work, 'fresh'), { address: nowhere, broker: { url: 'mqtt://127.0.0.1:1' } })).message).toMatch(new RegExp(`^site file: market\\.address: ${nowhere} has no contract on chain 31337`))
    expect((await start(data, { address: nowhere, broker: { url: 'mqtt://127.0.0.1:1' } })).message).toMatch(new RegExp(`^site file: market\\.address: ${nowhere}; .*market\\.json records market ${market}`))

    // an operator key that is not the market's operator
    const keyFile = join(data, 'keys', 'operator.json')
    const original = readFileSync(keyFile)
    saveKeystore(keyFile, await encryptKeystore(generatePrivateKey(), passphrase, { N: 1024, r: 8, p: 1 }))
    const wrongKey = await start(data, { address: market, broker: { url: 'mqtt://127.0.0.1:1' } })
    expect(wrongKey.message).toMatch(new RegExp(`operator\\.json: key of 0x[0-9a-fA-F]{40}; .*market\\.json names operator 0x`))
    writeFileSync(keyFile, original)
  }, 120_000)
})
