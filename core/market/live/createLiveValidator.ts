// The receiver's checks of core/market/PROTOCOL.md ("What a receiver checks, in order"):
// every message from the untrusted broker goes through check() before anything uses it.
import type { Address } from 'viem'
import type { MarketDomain } from '../typedData.ts'
import { orderDigest } from './clearingBody.ts'
import { liveMessageSchema, maxLiveMessageBytes, type LiveMessage } from './liveMessageSchema.ts'
import { ROLE_OPERATOR, liveTypes } from './liveTypedData.ts'
import type { LiveKind, MarketTopics } from './marketTopics.ts'
import { recoverLiveSigner } from './recoverLiveSigner.ts'
import { hashTypedData } from 'viem'

/** A site as the on-chain registry names it. */
export type SiteKeys = { owner: Address; meterKey: Address; active: boolean }

/** The registry at the receiver's block: a site's keys, or null when no such site is registered. */
export type SiteLookup = (siteId: number) => Promise<SiteKeys | null>

export type LiveDropReason = 'oversized' | 'malformed' | 'replayed' | 'duplicate' | 'late' | 'forged' | 'conflicting' | 'unverified'

export type LiveVerdict =
  | { ok: true; message: LiveMessage; signer: Address; digest: `0x${string}` }
  | { ok: false; reason: LiveDropReason; detail: string; message?: LiveMessage }

export type LiveCounters = Record<'accepted' | LiveDropReason, number>

export type CreateLiveValidatorParameters = {
  domain: MarketDomain
  topics: MarketTopics
  lookupSite: SiteLookup
  /** the market's operator (the contract's `operator()`) */
  operator: Address
  /** unix seconds until which a reading of `interval` can still be settled (it carries no signed deadline) */
  readingDeadline: (interval: bigint) => bigint
  /** the receiver's clock, unix seconds */
  nowS: () => bigint
}

const primaryTypes = { order: 'Order', reading: 'MeterReading', clearing: 'Clearing', presence: 'Presence' } as const

/** The EIP-712 digest of a live message's body under `domain`. */
function digestOf(domain: MarketDomain, m: LiveMessage): `0x${string}` {
  if (m.kind === 'order') return orderDigest(domain, m.body)
  return hashTypedData({ domain, types: liveTypes, primaryType: primaryTypes[m.kind], message: m.body as never })
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase()

/** A validator of one community's live messages that drops forged, replayed, late and oversized ones and counts each reason. */
export function createLiveValidator(p: CreateLiveValidatorParameters) {
  const counters: LiveCounters = { accepted: 0, oversized: 0, malformed: 0, replayed: 0, duplicate: 0, late: 0, forged: 0, conflicting: 0, unverified: 0 }
  /** the lowest interval still accepted per kind: below it a message is a replay */
  const floors: Record<Exclude<LiveKind, 'presence'>, bigint> = { order: 0n, clearing: 0n, reading: 0n }
  /** the first accepted message per (kind, node, interval): its digest */
  const seen = new Map<string, `0x${string}`>()
  /** the newest presence per node */
  const presence = new Map<string, { epoch: bigint; online: boolean }>()
  /** second, differently signed messages for one (kind, node, interval): two signatures by one key */
  const evidence: { first: `0x${string}`; second: LiveMessage }[] = []

  const drop = (reason: LiveDropReason, detail: string, message?: LiveMessage): LiveVerdict => {
    counters[reason]++
    return message ? { ok: false, reason, detail, message } : { ok: false, reason, detail }
  }

  const nodeOf = (m: LiveMessage) => (m.kind === 'clearing' || (m.kind === 'presence' && m.body.role === ROLE_OPERATOR) ? 'operator' : `site-${m.body.siteId}`)
  const keyOf = (m: LiveMessage) => (m.kind === 'presence' ? `presence:${nodeOf(m)}` : `${m.kind}:${nodeOf(m)}:${m.body.interval}`)

  /** null when the message is new and may be accepted; else why not. Run before and after the awaits. */
  const replayCheck = (m: LiveMessage, digest: `0x${string}`): LiveVerdict | null => {
    const key = keyOf(m)
    if (m.kind === 'presence') {
      const last = presence.get(key)
      if (!last) return null
      if (m.body.epoch < last.epoch) return drop('replayed', `${key}: epoch ${m.body.epoch} is older than the newest seen, ${last.epoch}`, m)
      if (m.body.epoch === last.epoch && m.body.online === last.online) return drop('duplicate', `${key}: epoch ${m.body.epoch} ${m.body.online ? 'online' : 'offline'} again`, m)
      // within one connection online comes first and offline ends it
      if (m.body.epoch === last.epoch && m.body.online) return drop('replayed', `${key}: online for epoch ${m.body.epoch} after its offline`, m)
      return null
    }
    if (m.body.interval < floors[m.kind]) return drop('replayed', `${key}: interval ${m.body.interval} is before ${floors[m.kind]}, the first this receiver still takes ${m.kind}s for`, m)
    const first = seen.get(key)
    if (first === digest) return drop('duplicate', `${key}: already accepted`, m)
    return null
  }

  const expectedSigner = async (m: LiveMessage): Promise<{ signer: Address } | { forged: string }> => {
    if (m.kind === 'clearing' || (m.kind === 'presence' && m.body.role === ROLE_OPERATOR)) return { signer: p.operator }
    const site = await p.lookupSite(m.body.siteId)
    if (!site) return { forged: `site ${m.body.siteId} is not registered` }
    if (m.kind === 'reading') return { signer: site.meterKey }
    if (!site.active) return { forged: `site ${m.body.siteId} is not active` }
    return { signer: site.owner }
  }

  return {
    /** Checks one message from the broker; counts the verdict. */
    async check(topic: string, payload: Uint8Array): Promise<LiveVerdict> {
      const address = p.topics.parse(topic)
      if (!address) return drop('malformed', `topic ${topic} is not one of ${p.topics.root}/'s`)
      const max = maxLiveMessageBytes[address.kind]
      if (payload.byteLength > max) return drop('oversized', `${topic}: ${payload.byteLength} bytes; expected at most ${max} for ${address.kind === 'order' ? 'an' : 'a'} ${address.kind}`)
      let json: unknown
      try {
        json = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'))
      } catch {
        return drop('malformed', `${topic}: not JSON`)
      }
      const parsed = liveMessageSchema.safeParse(json)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!
        return drop('malformed', `${topic}: ${issue.path.join('.') || '(top level)'}: ${issue.message}`)
      }
      const m = parsed.data as LiveMessage
      const bodySite = m.kind === 'clearing' || (m.kind === 'presence' && m.body.role === ROLE_OPERATOR) ? null : m.body.siteId
      const bodyInterval = m.kind === 'presence' ? null : m.body.interval
      if (m.kind !== address.kind || bodySite !== address.siteId || bodyInterval !== address.interval || (m.kind === 'presence' && m.body.role === ROLE_OPERATOR && m.body.siteId !== 0))
        return drop('malformed', `${topic}: the topic names ${address.kind} of ${address.siteId === null ? 'the operator' : `site ${address.siteId}`}${address.interval === null ? '' : ` interval ${address.interval}`}; the body is a ${m.kind} of ${bodySite === null ? 'the operator' : `site ${bodySite}`}${bodyInterval === null ? '' : ` interval ${bodyInterval}`}`, m)
      const digest = digestOf(p.domain, m)
      const replay = replayCheck(m, digest)
      if (replay) return replay
      const deadline = m.kind === 'reading' ? p.readingDeadline(m.body.interval) : m.body.deadline
      const now = p.nowS()
      if (now > deadline) return drop('late', `${topic}: valid until ${deadline}, now ${now}`, m)
      let expected
      let signer: Address
      try {
        expected = await expectedSigner(m)
      } catch (cause) {
        return drop('unverified', `${topic}: the registry could not be read: ${cause instanceof Error ? cause.message : String(cause)}`, m)
      }
      if ('forged' in expected) return drop('forged', `${topic}: ${expected.forged}`, m)
      try {
        signer = await recoverLiveSigner(p.domain, m)
      } catch {
        return drop('forged', `${topic}: the signature does not recover to any key`, m)
      }
      if (!same(signer, expected.signer)) return drop('forged', `${topic}: signed by ${signer}; the registry names ${expected.signer}`, m)
      // the awaits above let another copy through meanwhile
      const again = replayCheck(m, digest)
      if (again) return again
      const key = keyOf(m)
      if (m.kind === 'presence') presence.set(key, { epoch: m.body.epoch, online: m.body.online })
      else {
        const first = seen.get(key)
        if (first !== undefined) {
          evidence.push({ first, second: m })
          return drop('conflicting', `${key}: a second message signed by ${signer}, different from the first accepted (${first})`, m)
        }
        seen.set(key, digest)
      }
      counters.accepted++
      return { ok: true, message: m, signer, digest }
    },
    /** From now on, messages of `kind` for intervals before `interval` are replays; what was remembered of them is forgotten. */
    acceptFrom(kind: Exclude<LiveKind, 'presence'>, interval: bigint): void {
      if (interval <= floors[kind]) return
      floors[kind] = interval
      for (const key of seen.keys()) {
        const [k, , i] = key.split(':')
        if (k === kind && BigInt(i!) < interval) seen.delete(key)
      }
    },
    /** The counts of accepted messages and of each drop reason (a copy, for /api/market). */
    counters: (): LiveCounters => ({ ...counters }),
    /** The newest presence of every node seen: 'site-3' or 'operator' -> online since epoch. */
    presence: () => Object.fromEntries([...presence].map(([k, v]) => [k.slice('presence:'.length), { ...v }])),
    /** Conflicting second messages (double signatures), with the digest of the first. */
    evidence: () => [...evidence],
  }
}

export type LiveValidator = ReturnType<typeof createLiveValidator>
