import { parseSignature, signatureToCompactSignature, type Hex, type LocalAccount } from 'viem'
import { marketTypes, type MarketDomain, type MeterReading, type Order } from './typedData.ts'

/** An EIP-2098 compact signature as the contract takes it. */
export type CompactSignature = { r: Hex; vs: Hex }
export type SignedOrder = Order & CompactSignature
export type SignedMeterReading = MeterReading & CompactSignature

function toCompact(signature: Hex): CompactSignature {
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature))
  return { r, vs: yParityAndS }
}

/** Signs a site's order with its owner key (EIP-712, compact signature). */
export async function signOrder(account: LocalAccount, domain: MarketDomain, order: Order): Promise<SignedOrder> {
  const signature = await account.signTypedData({ domain, types: marketTypes, primaryType: 'Order', message: order })
  return { ...order, ...toCompact(signature) }
}

/** Signs a meter reading with the site's meter key (EIP-712, compact signature). */
export async function signMeterReading(
  account: LocalAccount,
  domain: MarketDomain,
  reading: MeterReading,
): Promise<SignedMeterReading> {
  const signature = await account.signTypedData({
    domain,
    types: marketTypes,
    primaryType: 'MeterReading',
    message: reading,
  })
  return { ...reading, ...toCompact(signature) }
}
