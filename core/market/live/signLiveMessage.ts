import { parseSignature, signatureToCompactSignature, type LocalAccount } from 'viem'
import { signMeterReading, signOrder } from '../signMarketData.ts'
import type { MarketDomain } from '../typedData.ts'
import type { LiveMessage } from './liveMessageSchema.ts'
import { liveTypes } from './liveTypedData.ts'

/** Signs a live message's body (orders with the owner key, readings with the meter key, clearings with the operator key). */
export async function signLiveMessage<M extends LiveMessage>(account: LocalAccount, domain: MarketDomain, unsigned: Pick<M, 'kind' | 'body'>): Promise<M> {
  const { kind, body } = unsigned as Pick<LiveMessage, 'kind' | 'body'>
  if (kind === 'order') {
    const { r, vs } = await signOrder(account, domain, body as Extract<LiveMessage, { kind: 'order' }>['body'])
    return { kind, body, r, vs } as M
  }
  if (kind === 'reading') {
    const { r, vs } = await signMeterReading(account, domain, body as Extract<LiveMessage, { kind: 'reading' }>['body'])
    return { kind, body, r, vs } as M
  }
  const primaryType = kind === 'clearing' ? 'Clearing' : 'Presence'
  const hex = await account.signTypedData({ domain, types: liveTypes, primaryType, message: body as never })
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(hex))
  return { kind, body, r, vs: yParityAndS } as M
}
