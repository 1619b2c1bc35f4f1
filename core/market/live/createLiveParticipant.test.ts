import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { clearAuction } from '../clearAuction.ts'
import { createMarketDomain, SIDE_ASK, SIDE_BID, type Order } from '../typedData.ts'
import { clearingBody } from './clearingBody.ts'
import type { MqttMessageHandler } from './connectMqtt.ts'
import { topicOf } from './connectLiveNode.ts'
import { createLiveInbox } from './createLiveInbox.ts'
import { createLiveParticipant } from './createLiveParticipant.ts'
import { createLiveValidator } from './createLiveValidator.ts'
import { createSigningJournal } from './createSigningJournal.ts'
import { encodeLiveMessage, type LiveMessage } from './liveMessageSchema.ts'
import type { SignedClearingBody } from './liveTypedData.ts'
import { marketTopics } from './marketTopics.ts'
import { signLiveMessage } from './signLiveMessage.ts'

const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const domain = createMarketDomain(31337, market)
const topics = marketTopics(31337, market)
const operator = privateKeyToAccount(generatePrivateKey())
const owners = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()))
const meters = [0, 1, 2].map(() => privateKeyToAccount(generatePrivateKey()))

/** Site 0 with an in-memory broker: every published message comes back to its inbox. */
function site0() {
  let handler: MqttMessageHandler = () => {}
  const deliver = async (m: LiveMessage) => handler(topicOf(topics, m), encodeLiveMessage(m))
  const validator = createLiveValidator({ domain, topics, operator: operator.address, lookupSite: async (id) => (owners[id] ? { owner: owners[id].address, meterKey: meters[id]!.address, active: true } : null), readingDeadline: () => 10_000n, nowS: () => 100n })
  const inbox = createLiveInbox({ transport: { onMessage: (h) => ((handler = h), () => {}) }, validator })
  const order: Order = { siteId: 0, interval: 5n, side: SIDE_ASK, energyWh: 500, limitPrice: 80_000n, deadline: 1_000n }
  const journal = createSigningJournal(mkdtempSync(join(tmpdir(), 'participant-')))
  const published: LiveMessage[] = []
  const publish = async (m: LiveMessage) => {
    published.push(m)
    await deliver(m)
  }
  const participant = createLiveParticipant({ siteId: 0, inbox, publish, journal, owner: owners[0]!, meter: meters[0]!, domain, orderFor: () => order })
  return { participant, deliver, journal, published, inbox }
}

const bid = (siteId: number, energyWh: number): Order => ({ siteId, interval: 5n, side: SIDE_BID, energyWh, limitPrice: 300_000n, deadline: 1_000n })
const signOrder = (o: Order) => signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(owners[o.siteId]!, domain, { kind: 'order', body: o })
const signClearing = (body: SignedClearingBody) => signLiveMessage<Extract<LiveMessage, { kind: 'clearing' }>>(operator, domain, { kind: 'clearing', body })

describe('createLiveParticipant', () => {
  it('agrees with an honest clearing and gives its committed position', async () => {
    const { participant, deliver } = site0()
    const mine = (await participant.placeOrder(5n))!
    const others = [bid(1, 300), bid(2, 250)]
    for (const o of others) await deliver(await signOrder(o))
    const orders = [mine, ...others]
    await deliver(await signClearing(clearingBody(domain, clearAuction(5n, orders), orders, 1_000n)))
    expect(await participant.checkClearing(5n)).toEqual({ status: 'agrees', netSellWh: 500, price: 190_000n })
  })

  it('finds a clearing that is not the auction of its orders (a price moved in the operator\'s favour)', async () => {
    const { participant, deliver } = site0()
    const orders = [(await participant.placeOrder(5n))!, bid(1, 300)]
    await deliver(await signOrder(orders[1]!))
    const honest = clearingBody(domain, clearAuction(5n, orders), orders, 1_000n)
    await deliver(await signClearing({ ...honest, price: honest.price - 50_000n }))
    expect(await participant.checkClearing(5n)).toMatchObject({ status: 'differs', why: 'the clearing is not the auction of the 2 orders it lists', expected: { price: 190_000n } })
  })

  it('finds a clearing that leaves out an order it saw, and one that lists an order it never saw', async () => {
    const a = site0()
    const mine = (await a.participant.placeOrder(5n))!
    await a.deliver(await signOrder(bid(1, 300)))
    await a.deliver(await signOrder(bid(2, 250)))
    const without2 = [mine, bid(1, 300)]
    await a.deliver(await signClearing(clearingBody(domain, clearAuction(5n, without2), without2, 1_000n)))
    expect(await a.participant.checkClearing(5n)).toMatchObject({ status: 'differs', why: 'the clearing leaves out the orders of sites 2 this site saw before the gate' })
    const b = site0()
    const mineB = (await b.participant.placeOrder(5n))!
    const withUnseen = [mineB, bid(1, 300)]
    await b.deliver(await signClearing(clearingBody(domain, clearAuction(5n, withUnseen), withUnseen, 1_000n)))
    expect(await b.participant.checkClearing(5n)).toMatchObject({ status: 'unseen-orders' })
  })

  it('signs a meter reading once with the meter key, and re-publishes the recorded readings after a restart', async () => {
    const { participant, journal, published, inbox } = site0()
    const first = await participant.publishReading({ interval: 5n, importWh: 0, exportWh: 480 })
    // the same interval again (a restart with another meter value): the recorded reading
    expect(await participant.publishReading({ interval: 5n, importWh: 0, exportWh: 999 })).toEqual(first)
    await participant.publishReading({ interval: 6n, importWh: 20, exportWh: 0 })
    await inbox.settled()
    expect(inbox.readings(5n)).toEqual([{ ...first.body, r: first.r, vs: first.vs }])
    expect(inbox.validator.counters()).toMatchObject({ accepted: 2, duplicate: 1, conflicting: 0 })
    const restarted = createLiveParticipant({ siteId: 0, inbox, publish: async (m) => void published.push(m), journal, owner: owners[0]!, meter: meters[0]!, domain, orderFor: () => null })
    published.length = 0
    expect(await restarted.republishReadings(6n)).toBe(1)
    expect(published.map((m) => m.kind === 'reading' && m.body)).toEqual([{ siteId: 0, interval: 6n, importWh: 20, exportWh: 0 }])
  })
})
