import type { Address } from 'viem'
import type { SignedMeterReading, SignedOrder } from '../signMarketData.ts'
import type { MqttTransport } from './connectMqtt.ts'
import type { LiveValidator, LiveVerdict } from './createLiveValidator.ts'
import type { LiveMessage } from './liveMessageSchema.ts'

type ClearingMessage = Extract<LiveMessage, { kind: 'clearing' }>

/** What a node took from the broker, per interval: only messages its validator accepted. */
export function createLiveInbox({ transport, validator }: { transport: Pick<MqttTransport, 'onMessage'>; validator: LiveValidator }) {
  const orders = new Map<bigint, Map<number, SignedOrder>>()
  const readings = new Map<bigint, Map<number, SignedMeterReading>>()
  const clearings = new Map<bigint, { message: ClearingMessage; signer: Address }>()
  const listeners = new Set<(verdict: LiveVerdict) => void>()
  let pending = Promise.resolve()
  const take = (verdict: LiveVerdict) => {
    if (verdict.ok) {
      const m = verdict.message
      if (m.kind === 'order') {
        const byInterval = orders.get(m.body.interval) ?? new Map<number, SignedOrder>()
        byInterval.set(m.body.siteId, { ...m.body, r: m.r, vs: m.vs })
        orders.set(m.body.interval, byInterval)
      } else if (m.kind === 'reading') {
        const byInterval = readings.get(m.body.interval) ?? new Map<number, SignedMeterReading>()
        byInterval.set(m.body.siteId, { ...m.body, r: m.r, vs: m.vs })
        readings.set(m.body.interval, byInterval)
      } else if (m.kind === 'clearing') clearings.set(m.body.interval, { message: m, signer: verdict.signer })
    }
    for (const listener of listeners) listener(verdict)
  }
  // checked one after another, in arrival order: the validator's first-seen rule then follows the broker's order
  transport.onMessage((topic, payload) => {
    // a check that throws (a bug, not an input: the validator turns bad input into verdicts) must not stop the queue
    pending = pending.then(() =>
      validator.check(topic, payload).then(take, (error: unknown) => take({ ok: false, reason: 'malformed', detail: `${topic}: the check failed: ${error instanceof Error ? error.message : String(error)}` })),
    )
  })
  const sorted = <T extends { siteId: number }>(m: Map<number, T> | undefined) => [...(m?.values() ?? [])].sort((a, b) => a.siteId - b.siteId)
  return {
    validator,
    /** accepted orders of `interval`, by site id */
    orders: (interval: bigint) => sorted(orders.get(interval)),
    readings: (interval: bigint) => sorted(readings.get(interval)),
    clearing: (interval: bigint) => clearings.get(interval) ?? null,
    /** resolves once every message received so far has been checked */
    settled: () => pending,
    onVerdict(listener: (verdict: LiveVerdict) => void) {
      listeners.add(listener)
      return () => void listeners.delete(listener)
    },
  }
}

export type LiveInbox = ReturnType<typeof createLiveInbox>
