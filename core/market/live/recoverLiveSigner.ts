import { compactSignatureToSignature, recoverTypedDataAddress, type Address } from 'viem'
import type { MarketDomain } from '../typedData.ts'
import type { LiveMessage } from './liveMessageSchema.ts'
import { liveTypes } from './liveTypedData.ts'

const primaryTypes = { order: 'Order', reading: 'MeterReading', clearing: 'Clearing', presence: 'Presence' } as const

/** The address whose key signed a live message under `domain` (throws on a signature that is not a point on the curve). */
export async function recoverLiveSigner(domain: MarketDomain, message: LiveMessage): Promise<Address> {
  return recoverTypedDataAddress({
    domain,
    types: liveTypes,
    primaryType: primaryTypes[message.kind],
    message: message.body as never,
    signature: compactSignatureToSignature({ r: message.r, yParityAndS: message.vs }),
  })
}
