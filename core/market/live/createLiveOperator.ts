// The clearing operator of the live market, one interval at a time (issue 15, "Each
// 15-minute interval"): at gate closure it clears the orders it accepted with the
// deterministic auction, publishes the signed clearing and has it committed on chain.
// Time is the caller's: it calls closeGate when the gate closes.
import type { Hex, LocalAccount } from 'viem'
import { clearAuction, type Clearing } from '../clearAuction.ts'
import type { SignedOrder } from '../signMarketData.ts'
import type { MarketDomain } from '../typedData.ts'
import { clearingBody } from './clearingBody.ts'
import type { LiveInbox } from './createLiveInbox.ts'
import type { LiveMessage } from './liveMessageSchema.ts'
import { signLiveMessage } from './signLiveMessage.ts'

export type CreateLiveOperatorParameters = {
  inbox: LiveInbox
  publish: (m: LiveMessage) => Promise<void>
  operator: LocalAccount
  domain: MarketDomain
  /** commits a clearing with trades on chain (encodeClearing + commitClearing or stepMarket through the outbox); returns its transaction */
  commit: (clearing: Clearing, orders: readonly SignedOrder[]) => Promise<Hex>
}

/** The operator's per-interval step: clear -> publish -> commit. */
export function createLiveOperator(p: CreateLiveOperatorParameters) {
  return {
    /** Closes the gate of `interval` (orders arriving later are replays), clears, publishes the signed clearing (valid until `deadline`) and commits it when something trades. */
    async closeGate(interval: bigint, deadline: bigint) {
      await p.inbox.settled()
      p.inbox.validator.acceptFrom('order', interval + 1n)
      const orders = p.inbox.orders(interval)
      const clearing = clearAuction(interval, orders)
      const message = await signLiveMessage<Extract<LiveMessage, { kind: 'clearing' }>>(p.operator, p.domain, { kind: 'clearing', body: clearingBody(p.domain, clearing, orders, deadline) })
      await p.publish(message)
      const commitTx = clearing.price === null ? null : await p.commit(clearing, orders)
      return { clearing, orders, message, commitTx }
    },
  }
}
