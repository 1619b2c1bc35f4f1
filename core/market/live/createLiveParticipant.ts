// A site in the live market, one interval at a time (issue 15): before gate closure it
// signs (once, through its journal) and publishes the order its plan implies; once the
// operator's clearing arrives it recomputes the auction from the orders it saw and says
// whether the clearing is the one those orders give. Time is the caller's.
import type { LocalAccount } from 'viem'
import { clearAuction, type Match } from '../clearAuction.ts'
import type { SignedOrder } from '../signMarketData.ts'
import type { MarketDomain, MeterReading, Order } from '../typedData.ts'
import { orderDigest } from './clearingBody.ts'
import type { LiveInbox } from './createLiveInbox.ts'
import type { SigningJournal } from './createSigningJournal.ts'
import type { LiveMessage } from './liveMessageSchema.ts'
import { signLiveMessage } from './signLiveMessage.ts'

export type CreateLiveParticipantParameters = {
  siteId: number
  inbox: LiveInbox
  publish: (m: LiveMessage) => Promise<void>
  journal: SigningJournal
  owner: LocalAccount
  /** signs the site's meter readings (the key the registry names as meterKey) */
  meter: LocalAccount
  domain: MarketDomain
  /** the order the site's plan implies for an interval, or null (core/demo's orderFromPlan, or the serve loop's) */
  orderFor: (interval: bigint) => Order | null
}

export type ClearingCheck =
  | { status: 'none' }
  /** the clearing is what the auction gives for the orders it lists, and lists every order this site saw */
  | { status: 'agrees'; netSellWh: number; price: bigint | null }
  /** listed orders this site never saw: it cannot recompute (a fault of delivery, not proof) */
  | { status: 'unseen-orders'; unseen: `0x${string}`[] }
  /** the operator's clearing is not the auction of the orders it lists, or leaves out orders this site saw before the gate */
  | { status: 'differs'; why: string; expected: { price: bigint | null; matches: Match[] } }

const netSellOf = (siteId: number, matches: readonly Match[]) => matches.reduce((sum, m) => sum + (m.sellerSiteId === siteId ? m.energyWh : 0) - (m.buyerSiteId === siteId ? m.energyWh : 0), 0)

/** A site's per-interval steps: placeOrder before gate closure, checkClearing after it. */
export function createLiveParticipant(p: CreateLiveParticipantParameters) {
  return {
    /** Signs (or takes the recorded) order of `interval` and publishes it; null when the plan trades nothing. */
    async placeOrder(interval: bigint): Promise<SignedOrder | null> {
      const recorded = p.journal.get('order', p.siteId, interval)
      const order = recorded ? null : p.orderFor(interval)
      if (!recorded && !order) return null
      const { message } = await p.journal.recordOnce('order', p.siteId, interval, () => signLiveMessage<Extract<LiveMessage, { kind: 'order' }>>(p.owner, p.domain, { kind: 'order', body: order! }))
      await p.publish(message)
      return { ...message.body, r: message.r, vs: message.vs } as SignedOrder
    },
    /** Signs (or takes the recorded) meter reading of `interval` after delivery and publishes it (QoS 1). */
    async publishReading(reading: Omit<MeterReading, 'siteId'>): Promise<Extract<LiveMessage, { kind: 'reading' }>> {
      const { message } = await p.journal.recordOnce('reading', p.siteId, reading.interval, () =>
        signLiveMessage<Extract<LiveMessage, { kind: 'reading' }>>(p.meter, p.domain, { kind: 'reading', body: { siteId: p.siteId, ...reading } }),
      )
      await p.publish(message)
      return message
    },
    /** Publishes again every reading recorded from `fromInterval` on (after a restart or reconnection), until the caller sees them settled; returns how many. */
    async republishReadings(fromInterval: bigint): Promise<number> {
      const readings = p.journal.list('reading', fromInterval).filter((m) => m.body.siteId === p.siteId)
      for (const m of readings) await p.publish(m)
      return readings.length
    },
    /** Compares the operator's clearing of `interval` with the auction of the orders it lists and with the orders this site saw. */
    async checkClearing(interval: bigint): Promise<ClearingCheck> {
      await p.inbox.settled()
      const announced = p.inbox.clearing(interval)
      if (!announced) return { status: 'none' }
      const body = announced.message.body
      const seen = p.inbox.orders(interval)
      const byDigest = new Map(seen.map((o) => [orderDigest(p.domain, o), o]))
      const unseen = body.orders.filter((d) => !byDigest.has(d))
      if (unseen.length) return { status: 'unseen-orders', unseen }
      const listed = body.orders.map((d) => byDigest.get(d)!)
      const expected = clearAuction(interval, listed)
      const got = { price: body.priced ? body.price : null, matches: body.matches }
      if (expected.price !== got.price || JSON.stringify(expected.matches) !== JSON.stringify(got.matches.map((m) => ({ sellerSiteId: m.sellerSiteId, buyerSiteId: m.buyerSiteId, energyWh: m.energyWh }))))
        return { status: 'differs', why: `the clearing is not the auction of the ${listed.length} orders it lists`, expected: { price: expected.price, matches: expected.matches } }
      const omitted = seen.filter((o) => !body.orders.includes(orderDigest(p.domain, o)))
      if (omitted.length) {
        const all = clearAuction(interval, seen)
        return { status: 'differs', why: `the clearing leaves out the orders of sites ${omitted.map((o) => o.siteId).join(', ')} this site saw before the gate`, expected: { price: all.price, matches: all.matches } }
      }
      return { status: 'agrees', netSellWh: netSellOf(p.siteId, got.matches), price: got.price }
    },
  }
}
