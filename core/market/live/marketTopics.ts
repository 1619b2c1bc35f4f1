import type { Address } from 'viem'
import { MarketInputError } from '../MarketInputError.ts'

export type LiveKind = 'order' | 'clearing' | 'reading' | 'presence'

/** What a topic names: its kind, the site (null: the operator) and the interval (null: presence). */
export type TopicAddress = { kind: LiveKind; siteId: number | null; interval: bigint | null }

export type MarketTopics = ReturnType<typeof marketTopics>

const decimal = /^(0|[1-9]\d{0,19})$/

/** The live protocol's topics of one community (chain id + market address); see core/market/PROTOCOL.md. */
export function marketTopics(chainId: number, market: Address) {
  if (!Number.isInteger(chainId) || chainId <= 0) throw new MarketInputError('market topics: chainId', 'a positive integer', String(chainId))
  if (!/^0x[0-9a-fA-F]{40}$/.test(market)) throw new MarketInputError('market topics: market', 'an address 0x + 40 hex digits', market)
  const community = `${chainId}-${market.toLowerCase()}`
  const root = `gridmesh/v1/${community}`
  const site = (siteId: number) => {
    if (!Number.isInteger(siteId) || siteId < 0 || siteId > 0xffffffff) throw new MarketInputError('market topics: siteId', 'an integer 0..2^32-1', String(siteId))
    return `site-${siteId}`
  }
  return {
    community,
    root,
    /** every topic of the community, to subscribe to */
    all: `${root}/#`,
    order: (siteId: number, interval: bigint) => `${root}/order/${site(siteId)}/${interval}`,
    clearing: (interval: bigint) => `${root}/clearing/${interval}`,
    reading: (siteId: number, interval: bigint) => `${root}/reading/${site(siteId)}/${interval}`,
    /** a site's presence, or the operator's with null */
    presence: (siteId: number | null) => `${root}/presence/${siteId === null ? 'operator' : site(siteId)}`,
    /** the MQTT user name a site or the operator (null) connects as; the broker's ACL keys on it */
    username: (siteId: number | null) => (siteId === null ? 'operator' : site(siteId)),
    /** a stable client id, so the broker keeps the node's persistent session */
    clientId: (siteId: number | null) => `gridmesh-${community}-${siteId === null ? 'operator' : site(siteId)}`,
    /** What a topic of this community names, or null when it is not one of the protocol's. */
    parse(topic: string): TopicAddress | null {
      if (!topic.startsWith(`${root}/`)) return null
      const parts = topic.slice(root.length + 1).split('/')
      const siteOf = (s: string | undefined) => (s?.startsWith('site-') && decimal.test(s.slice(5)) && Number(s.slice(5)) <= 0xffffffff ? Number(s.slice(5)) : undefined)
      const intervalOf = (s: string | undefined) => (s !== undefined && decimal.test(s) ? BigInt(s) : undefined)
      const [kind, a, b, ...rest] = parts
      if (rest.length) return null
      if ((kind === 'order' || kind === 'reading') && b !== undefined) {
        const siteId = siteOf(a)
        const interval = intervalOf(b)
        return siteId === undefined || interval === undefined ? null : { kind, siteId, interval }
      }
      if (kind === 'clearing' && b === undefined) {
        const interval = intervalOf(a)
        return interval === undefined ? null : { kind, siteId: null, interval }
      }
      if (kind === 'presence' && b === undefined) {
        if (a === 'operator') return { kind, siteId: null, interval: null }
        const siteId = siteOf(a)
        return siteId === undefined ? null : { kind, siteId, interval: null }
      }
      return null
    },
  }
}
