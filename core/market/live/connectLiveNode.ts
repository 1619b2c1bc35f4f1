// One node of the live market on the broker: its connection, its signed presence
// (retained online after every connect, retained offline as the last will) and
// publishing signed messages to the protocol's topics (core/market/PROTOCOL.md).
import type { LocalAccount } from 'viem'
import { MarketInputError } from '../MarketInputError.ts'
import type { MarketDomain } from '../typedData.ts'
import type { BrokerSettings } from './brokerSettingsSchema.ts'
import { connectMqtt, type MqttTransport } from './connectMqtt.ts'
import { encodeLiveMessage, maxLiveMessageBytes, type LiveMessage } from './liveMessageSchema.ts'
import { ROLE_OPERATOR, ROLE_SITE, presenceTtlSec } from './liveTypedData.ts'
import type { MarketTopics } from './marketTopics.ts'
import { signLiveMessage } from './signLiveMessage.ts'

export type ConnectLiveNodeParameters = {
  broker: BrokerSettings
  baseDir?: string
  topics: MarketTopics
  domain: MarketDomain
  /** the site this node is, or null for the operator */
  siteId: number | null
  /** the key presence is signed with: the site's owner key, or the operator key */
  presenceKey: LocalAccount
  /** unix seconds */
  nowS?: () => bigint
  connectTimeoutMs?: number
  reconnectPeriodMs?: number
}

/** The topic a live message goes to. */
export function topicOf(topics: MarketTopics, m: LiveMessage): string {
  if (m.kind === 'order') return topics.order(m.body.siteId, m.body.interval)
  if (m.kind === 'reading') return topics.reading(m.body.siteId, m.body.interval)
  if (m.kind === 'clearing') return topics.clearing(m.body.interval)
  return topics.presence(m.body.role === ROLE_OPERATOR ? null : m.body.siteId)
}

/** Connects a site or the operator with a persistent session, signed presence and its last will. */
export async function connectLiveNode(p: ConnectLiveNodeParameters) {
  const nowS = p.nowS ?? (() => BigInt(Math.floor(Date.now() / 1000)))
  const presence = async (online: boolean, epoch: bigint) =>
    signLiveMessage<Extract<LiveMessage, { kind: 'presence' }>>(p.presenceKey, p.domain, {
      kind: 'presence',
      body: { role: p.siteId === null ? ROLE_OPERATOR : ROLE_SITE, siteId: p.siteId ?? 0, online, epoch, deadline: epoch + presenceTtlSec },
    })
  // Each connection k has its epoch E_k: its will says offline(E_k), and once connected it
  // says online(E_k). E_k+1 > E_k is signed while k is up, so a will that fires later than a
  // newer connection's online is older and every receiver drops it.
  const prepare = async (epoch: bigint) => ({ epoch, online: await presence(true, epoch), offline: await presence(false, epoch) })
  let current = await prepare(nowS())
  const will = (m: LiveMessage) => ({ topic: p.topics.presence(p.siteId), payload: encodeLiveMessage(m), qos: 1 as const, retain: true })
  const transport: MqttTransport = await connectMqtt({
    broker: { ...p.broker, username: p.broker.username ?? p.topics.username(p.siteId) },
    ...(p.baseDir === undefined ? {} : { baseDir: p.baseDir }),
    clientId: p.topics.clientId(p.siteId),
    clean: false,
    will: will(current.offline),
    ...(p.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: p.connectTimeoutMs }),
    ...(p.reconnectPeriodMs === undefined ? {} : { reconnectPeriodMs: p.reconnectPeriodMs }),
  })
  const publish = async (m: LiveMessage) => {
    const payload = encodeLiveMessage(m)
    if (payload.length > maxLiveMessageBytes[m.kind]) throw new MarketInputError(`${m.kind} for ${topicOf(p.topics, m)}`, `at most ${maxLiveMessageBytes[m.kind]} bytes`, `${payload.length}`)
    await transport.publish(topicOf(p.topics, m), payload, { qos: 1, retain: m.kind === 'presence' })
  }
  let next = await prepare(current.epoch + 1n > nowS() ? current.epoch + 1n : nowS())
  transport.setWill(will(next.offline))
  await publish(current.online)
  transport.onReconnect(() => {
    // this connection sent next's will: it is now the current one
    current = next
    // a failed publish means the connection dropped again: the next reconnection says online
    void publish(current.online).catch(() => {})
    void prepare(current.epoch + 1n > nowS() ? current.epoch + 1n : nowS()).then((n) => {
      next = n
      transport.setWill(will(n.offline))
    })
  })
  await transport.subscribe(p.topics.all, 1)
  return {
    transport,
    /** the current connection's presence epoch */
    epoch: () => current.epoch,
    publish,
    /** Says offline (retained) and disconnects cleanly; the session stays on the broker. */
    async close() {
      await publish(current.offline)
      await transport.close()
    },
  }
}

export type LiveNode = Awaited<ReturnType<typeof connectLiveNode>>
