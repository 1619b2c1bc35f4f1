import { maxLiveMessageBytes } from './liveMessageSchema.ts'
import type { MarketTopics } from './marketTopics.ts'

/**
 * The broker's ACL of the live protocol (core/market/PROTOCOL.md, "Broker ACLs"): a site
 * publishes only its own orders, readings and presence, the operator only clearings and
 * its presence, and anyone connected reads the community. Returns null when allowed, else why not.
 * The embedded broker applies it; test/support/mosquitto.ts writes the same rule as a Mosquitto ACL file.
 */
export function authorizeTopic(topics: MarketTopics, username: string | undefined, access: 'publish' | 'subscribe', topic: string, payloadBytes = 0): string | null {
  if (!username) return 'no user name'
  if (access === 'subscribe') return topic === topics.all || topic.startsWith(`${topics.root}/`) ? null : `${username} may read only ${topics.all}`
  const address = topics.parse(topic)
  if (!address) return `${topic} is not a topic of ${topics.root}`
  const node = address.siteId === null ? 'operator' : `site-${address.siteId}`
  const allowed = address.kind === 'clearing' ? username === 'operator' : node === username
  if (!allowed) return `${username} may not publish ${address.kind} as ${node}`
  if (payloadBytes > maxLiveMessageBytes[address.kind]) return `${payloadBytes} bytes; ${address.kind}s may have at most ${maxLiveMessageBytes[address.kind]}`
  return null
}
