import { describe, expect, it } from 'vitest'
import { authorizeTopic } from './authorizeTopic.ts'
import { marketTopics } from './marketTopics.ts'

const topics = marketTopics(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3')

describe('marketTopics', () => {
  it('names a community by chain and market, and parses its topics back', () => {
    expect(topics.order(3, 12n)).toBe('gridmesh/v1/31337-0x5fbdb2315678afecb367f032d93f642f64180aa3/order/site-3/12')
    expect(topics.parse(topics.order(3, 12n))).toEqual({ kind: 'order', siteId: 3, interval: 12n })
    expect(topics.parse(topics.reading(0, 0n))).toEqual({ kind: 'reading', siteId: 0, interval: 0n })
    expect(topics.parse(topics.clearing(7n))).toEqual({ kind: 'clearing', siteId: null, interval: 7n })
    expect(topics.parse(topics.presence(null))).toEqual({ kind: 'presence', siteId: null, interval: null })
    expect(topics.parse(topics.presence(4))).toEqual({ kind: 'presence', siteId: 4, interval: null })
  })

  it('refuses topics that are not exactly the protocol\'s: other community, leading zeros, extra levels, unknown kinds', () => {
    const other = marketTopics(1, '0x5FbDB2315678afecb367f032d93F642f64180aa3')
    for (const topic of [other.order(3, 12n), `${topics.root}/order/site-03/12`, `${topics.root}/order/site-3/012`, `${topics.root}/order/site-3/12/x`, `${topics.root}/order/site-3`, `${topics.root}/bid/site-3/12`, `${topics.root}/clearing/7/x`, `${topics.root}/presence/site-4294967296`, `${topics.root}/order/site--1/1`])
      expect(topics.parse(topic), topic).toBeNull()
  })

  it('refuses a chain id or market that cannot name a community', () => {
    expect(() => marketTopics(0, '0x5FbDB2315678afecb367f032d93F642f64180aa3')).toThrow('market topics: chainId: expected a positive integer, got 0')
    expect(() => marketTopics(1, '0x1234' as `0x${string}`)).toThrow('market topics: market: expected an address 0x + 40 hex digits, got 0x1234')
  })
})

describe('authorizeTopic', () => {
  it('lets a site publish only its own orders, readings and presence, and the operator only clearings and its presence', () => {
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.order(3, 1n))).toBeNull()
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.reading(3, 1n))).toBeNull()
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.presence(3))).toBeNull()
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.order(4, 1n))).toBe('site-3 may not publish order as site-4')
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.clearing(1n))).toBe('site-3 may not publish clearing as operator')
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.presence(null))).toBe('site-3 may not publish presence as operator')
    expect(authorizeTopic(topics, 'operator', 'publish', topics.clearing(1n))).toBeNull()
    expect(authorizeTopic(topics, 'operator', 'publish', topics.order(0, 1n))).toBe('operator may not publish order as site-0')
    expect(authorizeTopic(topics, undefined, 'publish', topics.order(0, 1n))).toBe('no user name')
    expect(authorizeTopic(topics, 'site-3', 'publish', 'elsewhere/topic')).toBe(`elsewhere/topic is not a topic of ${topics.root}`)
    expect(authorizeTopic(topics, 'site-3', 'publish', topics.order(3, 1n), 1025)).toBe('1025 bytes; orders may have at most 1024')
  })

  it('lets anyone connected read the community and nothing else', () => {
    expect(authorizeTopic(topics, 'site-3', 'subscribe', topics.all)).toBeNull()
    expect(authorizeTopic(topics, 'site-3', 'subscribe', '#')).toBe(`site-3 may read only ${topics.all}`)
  })
})
