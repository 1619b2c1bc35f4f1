// The live market's MQTT transport on MQTT.js: one connection per node, with the checks
// a person needs when it cannot connect (which URL, which TLS file, what was wrong).
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { redactRpcUrl } from '../../chain/redactRpcUrl.ts'
import { BaseError } from '../../errors/BaseError.ts'
import type { BrokerSettings } from './brokerSettingsSchema.ts'

/** The broker URL is not one MQTT can use. */
export class BrokerUrlError extends BaseError {
  override name = 'BrokerUrlError' as const
}

/** A TLS file named for the broker is missing, unreadable, or not what it should be. */
export class BrokerTlsFileError extends BaseError {
  override name = 'BrokerTlsFileError' as const
}

/** The first connection to the broker failed: unreachable, refused, or not authorized. */
export class BrokerConnectError extends BaseError {
  override name = 'BrokerConnectError' as const
}

export type Qos = 0 | 1

export type Will = { topic: string; payload: Buffer; qos: Qos; retain: boolean }

export type ConnectMqttParameters = {
  broker: BrokerSettings
  /** where relative TLS file names start (the site file's folder) */
  baseDir?: string
  /** stable for a persistent session */
  clientId: string
  /** false: the broker keeps this client's subscriptions and queues its QoS 1 messages while it is away */
  clean: boolean
  /** published by the broker when the connection drops without a DISCONNECT */
  will?: Will
  /** how long the first connection may take before it is reported as failed */
  connectTimeoutMs?: number
  /** the pause between reconnection attempts after the first connection */
  reconnectPeriodMs?: number
}

export type MqttMessageHandler = (topic: string, payload: Buffer) => void

/** A connected MQTT node; small enough to fake in a test. */
export type MqttTransport = {
  publish(topic: string, payload: Buffer, options: { qos: Qos; retain?: boolean }): Promise<void>
  subscribe(filter: string, qos: Qos): Promise<void>
  /** called for every message on the node's subscriptions; returns a function that removes the handler */
  onMessage(handler: MqttMessageHandler): () => void
  /** called after every reconnection (not the first connect) with whether the broker still had the session */
  onReconnect(handler: (sessionPresent: boolean) => void): () => void
  /** the last will of the next reconnection (the broker keeps the current connection's) */
  setWill(will: Will): void
  readonly connected: boolean
  /** a clean disconnect: the broker does not publish the will */
  close(): Promise<void>
}

const schemes = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:'])
const tlsSchemes = new Set(['mqtts:', 'wss:'])

function checkUrl(raw: string): URL {
  const shown = redactRpcUrl(raw)
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    throw new BrokerUrlError(`broker url ${JSON.stringify(raw.length > 200 ? `${raw.slice(0, 200)}…` : raw.replace(/\/\/[^@/]*@/, '//***@'))}: not a URL; expected mqtt://host:port, mqtts://, ws:// or wss://`)
  }
  if (!schemes.has(url.protocol)) throw new BrokerUrlError(`broker url ${shown}: scheme ${url.protocol.slice(0, -1)}; expected mqtt://, mqtts:// (TLS), ws:// or wss://`)
  if (!url.hostname) throw new BrokerUrlError(`broker url ${shown}: no host; expected mqtt://host:port`)
  return url
}

function readPem(what: string, path: string): string {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'a directory, not a file' : (cause as Error).message
    throw new BrokerTlsFileError(`broker ${what} ${path}: ${why}; expected a PEM file`, { cause })
  }
  if (!text.includes('-----BEGIN ')) throw new BrokerTlsFileError(`broker ${what} ${path}: not PEM (no '-----BEGIN' line); expected a PEM ${what === 'keyFile' ? 'private key' : 'certificate'}`)
  return text
}

function parseCertificate(what: string, path: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (cause) {
    throw new BrokerTlsFileError(`broker ${what} ${path}: not a readable X.509 certificate (${(cause as Error).message}); expected a PEM certificate`, { cause })
  }
}

/** The TLS options of the broker settings, every file read and checked now so a mistake names its file. */
function tlsOptions(broker: BrokerSettings, baseDir: string, url: URL): Pick<IClientOptions, 'ca' | 'cert' | 'key'> {
  const { caFile, certFile, keyFile } = broker
  if (!caFile && !certFile && !keyFile) return {}
  if (!tlsSchemes.has(url.protocol))
    throw new BrokerTlsFileError(`broker url ${redactRpcUrl(broker.url)}: TLS files are given but the scheme is ${url.protocol.slice(0, -1)}; expected mqtts:// or wss://`)
  if (!certFile !== !keyFile)
    throw new BrokerTlsFileError(`broker ${certFile ? `certFile ${resolve(baseDir, certFile)} without a keyFile` : `keyFile ${resolve(baseDir, keyFile!)} without a certFile`}; expected both (a client certificate and its private key) or neither`)
  const options: Pick<IClientOptions, 'ca' | 'cert' | 'key'> = {}
  if (caFile) {
    const path = resolve(baseDir, caFile)
    const pem = readPem('caFile', path)
    parseCertificate('caFile', path, pem)
    options.ca = pem
  }
  if (certFile && keyFile) {
    const certPath = resolve(baseDir, certFile)
    const keyPath = resolve(baseDir, keyFile)
    const certPem = readPem('certFile', certPath)
    const cert = parseCertificate('certFile', certPath, certPem)
    const keyPem = readPem('keyFile', keyPath)
    let key: KeyObject
    try {
      key = createPrivateKey(keyPem)
    } catch (cause) {
      throw new BrokerTlsFileError(`broker keyFile ${keyPath}: not a readable private key (${(cause as Error).message}); expected an unencrypted PEM private key`, { cause })
    }
    if (!cert.checkPrivateKey(key)) throw new BrokerTlsFileError(`broker keyFile ${keyPath}: not the private key of certFile ${certPath} (${cert.subject.replace(/\n/g, ', ')}); expected the key the certificate was issued for`)
    options.cert = certPem
    options.key = keyPem
  }
  return options
}

const connackReasons: Record<number, string> = {
  1: 'the broker does not speak MQTT 3.1.1',
  2: 'the client id was rejected',
  3: 'the broker is unavailable',
  4: 'bad user name or password',
  5: 'not authorized',
}

/** Connects to the broker; resolves once connected, or fails with the URL (without credentials) and the reason. Reconnects on its own afterwards. */
export async function connectMqtt({ broker, baseDir = process.cwd(), clientId, clean, will, connectTimeoutMs = 15_000, reconnectPeriodMs = 1_000 }: ConnectMqttParameters): Promise<MqttTransport> {
  const url = checkUrl(broker.url)
  const shown = redactRpcUrl(broker.url)
  const tls = tlsOptions(broker, baseDir, url)
  const client: MqttClient = mqtt.connect(broker.url, {
    clientId,
    clean,
    protocolVersion: 4,
    ...(broker.username === undefined ? {} : { username: broker.username }),
    ...(broker.password === undefined ? {} : { password: broker.password }),
    ...tls,
    ...(will ? { will: { topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain } } : {}),
    connectTimeout: connectTimeoutMs,
    // no automatic reconnect until the first connection worked: a wrong URL or password is reported, not retried forever
    reconnectPeriod: 0,
    resubscribe: true,
  })
  // messages a persistent session delivers right after CONNACK, before the caller could add a handler, wait here for the first one
  const handlers = new Set<MqttMessageHandler>()
  let early: [string, Buffer][] | null = []
  client.on('message', (topic: string, payload: Buffer) => {
    if (early) early.push([topic, payload])
    for (const handler of handlers) handler(topic, payload)
  })
  try {
    await new Promise<void>((resolveConnect, reject) => {
      let lastError: Error | undefined
      const timer = setTimeout(() => fail(lastError ? `${lastError.message}` : `no answer within ${connectTimeoutMs / 1000} s`), connectTimeoutMs)
      const fail = (why: string) => {
        cleanup()
        reject(new BrokerConnectError(`cannot connect to the broker at ${shown} as ${broker.username ?? '(no user)'}: ${why}`, { ...(lastError ? { cause: lastError } : {}), metaMessages: ['Check the broker URL, that the broker runs and is reachable, and the credentials.'] }))
      }
      const onConnect = () => {
        cleanup()
        resolveConnect()
      }
      const onError = (error: Error & { code?: string | number }) => {
        lastError = error
        if (typeof error.code === 'number') fail(connackReasons[error.code] ?? `refused with code ${error.code}`)
        else if (error.code && /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ECONNRESET)$/.test(error.code)) fail(`${error.code} (${error.message})`)
        else if (/certificate|self.signed|SSL|TLS|handshake/i.test(error.message)) fail(`TLS: ${error.message}`)
      }
      const onClose = () => {
        if (lastError) fail(lastError.message)
      }
      const cleanup = () => {
        clearTimeout(timer)
        client.off('connect', onConnect)
        client.off('error', onError)
        client.off('close', onClose)
      }
      client.on('connect', onConnect)
      client.on('error', onError)
      client.on('close', onClose)
    })
  } catch (error) {
    await client.endAsync(true).catch(() => {})
    // and the socket, whatever state the handshake was in
    client.stream?.destroy()
    throw error
  }
  // reconnect from now on; the broker keeps the session when clean is false
  client.options.reconnectPeriod = reconnectPeriodMs
  // errors after the first connect are retried; 'error' must have a listener or it throws
  client.on('error', () => {})
  const reconnectHandlers = new Set<(sessionPresent: boolean) => void>()
  client.on('connect', (connack) => {
    for (const handler of reconnectHandlers) handler(connack.sessionPresent)
  })
  return {
    async publish(topic, payload, { qos, retain = false }) {
      await client.publishAsync(topic, payload, { qos, retain })
    },
    async subscribe(filter, qos) {
      const granted = await client.subscribeAsync(filter, { qos })
      const refused = granted.find((g) => g.qos === 128)
      if (refused) throw new BrokerConnectError(`the broker at ${shown} refused the subscription to ${filter} for ${broker.username ?? '(no user)'}; expected the ACL to let it read the community's topics`)
    },
    onMessage(handler) {
      handlers.add(handler)
      if (early) {
        const queued = early
        early = null
        for (const [topic, payload] of queued) handler(topic, payload)
      }
      return () => void handlers.delete(handler)
    },
    onReconnect(handler) {
      reconnectHandlers.add(handler)
      return () => void reconnectHandlers.delete(handler)
    },
    setWill(next) {
      client.options.will = { topic: next.topic, payload: next.payload, qos: next.qos, retain: next.retain }
    },
    get connected() {
      return client.connected
    },
    async close() {
      await client.endAsync(false)
    },
  }
}
