import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { clearAuction } from '../clearAuction.ts'
import { createMarketDomain, SIDE_ASK, SIDE_BID, type Order } from '../typedData.ts'
import { clearingBody } from './clearingBody.ts'
import { createLiveValidator, type SiteKeys } from './createLiveValidator.ts'
import { encodeLiveMessage, type LiveMessage } from './liveMessageSchema.ts'
import { ROLE_OPERATOR, ROLE_SITE, type PresenceRole } from './liveTypedData.ts'
import { marketTopics } from './marketTopics.ts'
import { signLiveMessage } from './signLiveMessage.ts'

const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const domain = createMarketDomain(31337, market)
const topics = marketTopics(31337, market)
const operator = privateKeyToAccount(generatePrivateKey())
const owners = [0, 1].map(() => privateKeyToAccount(generatePrivateKey()))
const meters = [0, 1].map(() => privateKeyToAccount(generatePrivateKey()))
const outsider = privateKeyToAccount(generatePrivateKey())
const registry = new Map<number, SiteKeys>(owners.map((o, i) => [i, { owner: o.address, meterKey: meters[i]!.address, active: true }]))

function setup(nowS = 1_000n) {
  let now = nowS
  const validator = createLiveValidator({
    domain,
    topics,
    operator: operator.address,
    lookupSite: async (siteId) => registry.get(siteId) ?? null,
    readingDeadline: (interval) => 2_000n + interval * 900n,
    nowS: () => now,
  })
  return { validator, setNow: (s: bigint) => (now = s) }
}

const order = (siteId: number, interval: bigint, patch: Partial<Order> = {}): Order => ({ siteId, interval, side: siteId === 0 ? SIDE_ASK : SIDE_BID, energyWh: 500, limitPrice: 100_000n, deadline: 1_500n, ...patch })
const signOrderMessage = (o: Order, by = owners[o.siteId]!) => signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(by, domain, { kind: 'order', body: o })
const send = (v: ReturnType<typeof setup>['validator'], topic: string, m: LiveMessage) => v.check(topic, encodeLiveMessage(m))

describe('createLiveValidator', () => {
  it('accepts an order signed by the registered owner and names its signer', async () => {
    const { validator } = setup()
    const m = await signOrderMessage(order(0, 5n))
    const verdict = await send(validator, topics.order(0, 5n), m)
    expect(verdict).toMatchObject({ ok: true, signer: owners[0]!.address })
    expect(validator.counters()).toMatchObject({ accepted: 1, forged: 0 })
  })

  it('drops an order signed by an unregistered key, by another site\'s key, or for an unregistered site, as forged', async () => {
    const { validator } = setup()
    const byOutsider = await signOrderMessage(order(0, 5n), outsider)
    const byOtherSite = await signOrderMessage(order(1, 5n), owners[0]!)
    const unknownSite = await signOrderMessage(order(7, 5n), outsider)
    const byMeterKey = await signOrderMessage(order(0, 5n), meters[0]!)
    const verdicts = [await send(validator, topics.order(0, 5n), byOutsider), await send(validator, topics.order(1, 5n), byOtherSite), await send(validator, topics.order(7, 5n), unknownSite), await send(validator, topics.order(0, 5n), byMeterKey)]
    expect(verdicts.map((v) => !v.ok && v.reason)).toEqual(['forged', 'forged', 'forged', 'forged'])
    expect(!verdicts[0]!.ok && verdicts[0]!.detail).toContain(`signed by ${outsider.address}; the registry names ${owners[0]!.address}`)
    expect(!verdicts[2]!.ok && verdicts[2]!.detail).toContain('site 7 is not registered')
    expect(validator.counters()).toMatchObject({ accepted: 0, forged: 4 })
  })

  it('drops a message signed for another market (domain) as forged', async () => {
    const { validator } = setup()
    const other = createMarketDomain(31337, '0x0000000000000000000000000000000000000001')
    const m = await signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(owners[0]!, other, { kind: 'order', body: order(0, 5n) })
    expect(await send(validator, topics.order(0, 5n), m)).toMatchObject({ ok: false, reason: 'forged' })
  })

  it('drops a tampered body (energy changed after signing) as forged', async () => {
    const { validator } = setup()
    const m = await signOrderMessage(order(0, 5n))
    expect(await send(validator, topics.order(0, 5n), { ...m, body: { ...m.body, energyWh: 5_000 } })).toMatchObject({ ok: false, reason: 'forged' })
  })

  it('drops an order of an interval before the accepted floor as replayed, and a second delivery as a duplicate', async () => {
    const { validator } = setup()
    const old = await signOrderMessage(order(0, 4n))
    const current = await signOrderMessage(order(0, 5n))
    validator.acceptFrom('order', 5n)
    expect(await send(validator, topics.order(0, 4n), old)).toMatchObject({ ok: false, reason: 'replayed' })
    expect(await send(validator, topics.order(0, 5n), current)).toMatchObject({ ok: true })
    expect(await send(validator, topics.order(0, 5n), current)).toMatchObject({ ok: false, reason: 'duplicate' })
    expect(validator.counters()).toMatchObject({ accepted: 1, replayed: 1, duplicate: 1 })
  })

  it('drops a message past its deadline as late; a reading by the settlement deadline the receiver computes', async () => {
    const { validator, setNow } = setup()
    const o = await signOrderMessage(order(0, 5n, { deadline: 1_000n }))
    setNow(1_001n)
    expect(await send(validator, topics.order(0, 5n), o)).toMatchObject({ ok: false, reason: 'late' })
    const reading = await signLiveMessage<Extract<LiveMessage, { kind: 'reading' }>>(meters[0]!, domain, { kind: 'reading', body: { siteId: 0, interval: 5n, importWh: 0, exportWh: 480 } })
    setNow(2_000n + 5n * 900n)
    expect(await send(validator, topics.reading(0, 5n), reading)).toMatchObject({ ok: true, signer: meters[0]!.address })
    const { validator: later, setNow: setLater } = setup()
    setLater(2_001n + 5n * 900n)
    expect(await send(later, topics.reading(0, 5n), reading)).toMatchObject({ ok: false, reason: 'late' })
  })

  it('drops a message over its kind\'s size before parsing it, as oversized', async () => {
    const { validator } = setup()
    const m = await signOrderMessage(order(0, 5n))
    const padded = Buffer.concat([encodeLiveMessage(m).subarray(0, -1), Buffer.from(`,"pad":"${'x'.repeat(1024)}"}`)])
    expect(await validator.check(topics.order(0, 5n), padded)).toMatchObject({ ok: false, reason: 'oversized' })
    expect(validator.counters().oversized).toBe(1)
  })

  it('drops a message whose topic names another site or interval than its body, and unknown fields, as malformed', async () => {
    const { validator } = setup()
    const m = await signOrderMessage(order(0, 5n))
    expect(await send(validator, topics.order(1, 5n), m)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(await send(validator, topics.order(0, 6n), m)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(await send(validator, topics.reading(0, 5n), m)).toMatchObject({ ok: false, reason: 'malformed' })
    const extra = Buffer.from(JSON.stringify({ ...JSON.parse(encodeLiveMessage(m).toString()), extra: 1 }))
    expect(await validator.check(topics.order(0, 5n), extra)).toMatchObject({ ok: false, reason: 'malformed' })
    expect(await validator.check(topics.order(0, 5n), Buffer.from('{nope'))).toMatchObject({ ok: false, reason: 'malformed' })
    expect(await validator.check(`${topics.root}/order/site-0`, encodeLiveMessage(m))).toMatchObject({ ok: false, reason: 'malformed' })
    expect(validator.counters()).toMatchObject({ accepted: 0, malformed: 6 })
  })

  it('keeps the first of two different orders one key signed for one interval, and the second as evidence', async () => {
    const { validator } = setup()
    const a = await signOrderMessage(order(0, 5n))
    const b = await signOrderMessage(order(0, 5n, { energyWh: 900 }))
    expect(await send(validator, topics.order(0, 5n), a)).toMatchObject({ ok: true })
    expect(await send(validator, topics.order(0, 5n), b)).toMatchObject({ ok: false, reason: 'conflicting' })
    expect(validator.evidence()).toHaveLength(1)
    expect(validator.evidence()[0]!.second.body).toMatchObject({ energyWh: 900 })
  })

  it('takes a clearing only from the operator', async () => {
    const { validator } = setup()
    const orders = [order(0, 5n), order(1, 5n)]
    const body = clearingBody(domain, clearAuction(5n, orders), orders, 1_500n)
    expect(body.matches).toEqual([{ sellerSiteId: 0, buyerSiteId: 1, energyWh: 500 }])
    const byOperator = await signLiveMessage<Extract<LiveMessage, { kind: 'clearing' }>>(operator, domain, { kind: 'clearing', body })
    const bySite = await signLiveMessage<Extract<LiveMessage, { kind: 'clearing' }>>(owners[0]!, domain, { kind: 'clearing', body })
    expect(await send(validator, topics.clearing(5n), bySite)).toMatchObject({ ok: false, reason: 'forged' })
    expect(await send(validator, topics.clearing(5n), byOperator)).toMatchObject({ ok: true, signer: operator.address })
  })

  it('orders presence by connection epoch: an old epoch replayed after a newer one is dropped, offline ends an epoch', async () => {
    const { validator } = setup()
    const presence = (online: boolean, epoch: bigint, role: PresenceRole = ROLE_SITE, by = owners[1]!) =>
      signLiveMessage<Extract<LiveMessage, { kind: 'presence' }>>(by, domain, { kind: 'presence', body: { role, siteId: role === ROLE_SITE ? 1 : 0, online, epoch, deadline: epoch + 1_000n } })
    expect(await send(validator, topics.presence(1), await presence(true, 900n))).toMatchObject({ ok: true })
    expect(await send(validator, topics.presence(1), await presence(false, 900n))).toMatchObject({ ok: true })
    expect(await send(validator, topics.presence(1), await presence(true, 900n))).toMatchObject({ ok: false, reason: 'replayed' })
    expect(await send(validator, topics.presence(1), await presence(true, 950n))).toMatchObject({ ok: true })
    expect(await send(validator, topics.presence(1), await presence(false, 900n))).toMatchObject({ ok: false, reason: 'replayed' })
    expect(await send(validator, topics.presence(null), await presence(true, 990n, ROLE_OPERATOR, operator))).toMatchObject({ ok: true })
    expect(await send(validator, topics.presence(null), await presence(true, 991n, ROLE_OPERATOR, owners[0]!))).toMatchObject({ ok: false, reason: 'forged' })
    expect(validator.presence()).toEqual({ 'site-1': { epoch: 950n, online: true }, operator: { epoch: 990n, online: true } })
  })

  it('counts a registry that cannot be read as unverified, not as forged', async () => {
    const validator = createLiveValidator({ domain, topics, operator: operator.address, lookupSite: () => Promise.reject(new Error('ECONNREFUSED')), readingDeadline: () => 0n, nowS: () => 0n })
    expect(await send(validator, topics.order(0, 5n), await signOrderMessage(order(0, 5n)))).toMatchObject({ ok: false, reason: 'unverified' })
  })
})
