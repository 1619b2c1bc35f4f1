// Bad broker settings give a message that names what was wrong and where (issue 15,
// "Bad input"), and TLS works against Mosquitto with the CA a site file names.
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectMqtt, type ConnectMqttParameters } from '../../core/market/live/connectMqtt.ts'
import { marketTopics } from '../../core/market/live/marketTopics.ts'
import { startMosquitto, type Mosquitto } from '../support/mosquitto.ts'

const topics = marketTopics(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
const dir = mkdtempSync(join(tmpdir(), 'live-tls-'))
const file = (name: string) => join(dir, name)
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

/** A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated key (openssl, EC P-256). */
function makeCertificates() {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=gridmesh-test-ca')
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext')
  openssl('req', ...ec, '-keyout', 'other.key', '-out', 'other.csr', '-subj', '/CN=other')
  writeFileSync(file('not-pem.txt'), 'hello, I am not a certificate\n')
  writeFileSync(file('broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n')
}

const connect = (broker: ConnectMqttParameters['broker'], extra: Partial<ConnectMqttParameters> = {}) =>
  connectMqtt({ broker, clientId: `connect-test-${Math.random().toString(36).slice(2)}`, clean: true, connectTimeoutMs: 8_000, ...extra }).then(
    async (t) => {
      await t.close()
      return 'connected'
    },
    (e: Error) => e,
  )

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
  const { port } = server.address() as AddressInfo
  await new Promise((r) => server.close(r))
  return port
}

describe('connectMqtt: bad broker settings', () => {
  let silent: Server
  let silentPort: number
  const silentSockets: Socket[] = []
  beforeAll(async () => {
    makeCertificates()
    // accepts TCP and never answers MQTT
    silent = createServer((socket) => {
      silentSockets.push(socket)
      socket.resume()
      socket.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    silentPort = (silent.address() as AddressInfo).port
  })
  afterAll(() => new Promise((r) => silent.close(r)))

  it('names a URL that is not MQTT, and one that is not a URL, without its credentials', async () => {
    const http = await connect({ url: 'http://user:secret@127.0.0.1:1883' })
    expect(http).toMatchObject({ name: 'BrokerUrlError' })
    expect((http as Error).message).toMatch(/^broker url http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1883: scheme http; expected mqtt:\/\/, mqtts:\/\/ \(TLS\), ws:\/\/ or wss:\/\//)
    expect((http as Error).message).not.toContain('secret')
    const noScheme = await connect({ url: 'broker.local:1883' })
    expect((noScheme as Error).message).toBe('broker url broker.local:1883: scheme broker.local; expected mqtt://, mqtts:// (TLS), ws:// or wss://')
    const notUrl = await connect({ url: 'not a url' })
    expect(notUrl).toMatchObject({ name: 'BrokerUrlError' })
    expect((notUrl as Error).message).toBe('broker url "not a url": not a URL; expected mqtt://host:port, mqtts://, ws:// or wss://')
  })

  it('reports an unreachable broker with its URL (no password) and ECONNREFUSED', async () => {
    const port = await freePort()
    const error = await connect({ url: `mqtt://site-0:secret@127.0.0.1:${port}` })
    expect(error).toMatchObject({ name: 'BrokerConnectError' })
    expect((error as Error).message).toMatch(new RegExp(`^cannot connect to the broker at mqtt://\\*\\*\\*:\\*\\*\\*@127\\.0\\.0\\.1:${port} as \\(no user\\): ECONNREFUSED`))
    expect((error as Error).message).not.toContain('secret')
  })

  it('reports a server that accepts TCP but never answers MQTT within the timeout', async () => {
    const error = await connect({ url: `mqtt://127.0.0.1:${silentPort}` }, { connectTimeoutMs: 1_500 })
    expect(error).toMatchObject({ name: 'BrokerConnectError' })
    expect((error as Error).message).toMatch(/cannot connect to the broker at mqtt:\/\/127\.0\.0\.1:\d+ as \(no user\): /)
    // the failed attempt leaves no connection behind
    expect(silentSockets).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 300))
    expect(silentSockets[0]!.closed).toBe(true)
  })

  it('names each bad TLS file and what is wrong with it', async () => {
    const url = 'mqtts://127.0.0.1:8883'
    const cases: [ConnectMqttParameters['broker'], RegExp][] = [
      [{ url, caFile: file('missing-ca.pem') }, new RegExp(`^broker caFile ${file('missing-ca.pem')}: no such file; expected a PEM file`)],
      [{ url, caFile: file('not-pem.txt') }, new RegExp(`^broker caFile ${file('not-pem.txt')}: not PEM \\(no '-----BEGIN' line\\); expected a PEM certificate`)],
      [{ url, caFile: file('broken.pem') }, new RegExp(`^broker caFile ${file('broken.pem')}: not a readable X\\.509 certificate`)],
      [{ url, caFile: dir }, new RegExp(`^broker caFile ${dir}: a directory, not a file`)],
      [{ url, certFile: file('server.pem') }, new RegExp(`^broker certFile ${file('server.pem')} without a keyFile; expected both`)],
      [{ url, certFile: file('server.pem'), keyFile: file('ca.pem') }, new RegExp(`^broker keyFile ${file('ca.pem')}: not a readable private key`)],
      [{ url, certFile: file('server.pem'), keyFile: file('other.key') }, new RegExp(`^broker keyFile ${file('other.key')}: not the private key of certFile ${file('server.pem')} \\(CN=127\\.0\\.0\\.1\\)`)],
      [{ url: 'mqtt://127.0.0.1:1883', caFile: file('ca.pem') }, /^broker url mqtt:\/\/127\.0\.0\.1:1883: TLS files are given but the scheme is mqtt; expected mqtts:\/\/ or wss:\/\//],
    ]
    for (const [broker, message] of cases) {
      const error = await connect(broker)
      expect(error, JSON.stringify(broker)).toMatchObject({ name: 'BrokerTlsFileError' })
      expect((error as Error).message).toMatch(message)
    }
    if (process.getuid?.() !== 0) {
      writeFileSync(file('locked.pem'), readableCa())
      chmodSync(file('locked.pem'), 0)
      expect(((await connect({ url, caFile: file('locked.pem') })) as Error).message).toContain('permission denied')
    }
  })

  it('resolves relative TLS file names from the site file\'s folder', async () => {
    const error = await connect({ url: 'mqtts://127.0.0.1:8883', caFile: 'nope/ca.pem' }, { baseDir: '/etc/gridmesh-site' })
    expect((error as Error).message).toMatch(/^broker caFile \/etc\/gridmesh-site\/nope\/ca\.pem: no such file/)
  })
})

function readableCa(): string {
  return execFileSync('cat', [file('ca.pem')]).toString()
}

describe('connectMqtt over TLS to Mosquitto', () => {
  let mosquitto: Mosquitto
  beforeAll(async () => {
    mosquitto = await startMosquitto({ topics, sites: [0], tls: { caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') } })
  })
  afterAll(() => mosquitto?.stop())

  it('connects with the CA that signed the broker\'s certificate, and says TLS when the CA is not given', async () => {
    const broker = { url: mosquitto.url, username: 'site-0', password: mosquitto.passwords['site-0']! }
    expect(mosquitto.url).toMatch(/^mqtts:/)
    expect(await connect({ ...broker, caFile: file('ca.pem') })).toBe('connected')
    const untrusted = await connect(broker)
    expect(untrusted).toMatchObject({ name: 'BrokerConnectError' })
    expect((untrusted as Error).message).toMatch(/as site-0: TLS: .*(self.signed|certificate)/i)
  })
})
