import type { Hex, LocalAccount } from 'viem'
import { MarketInputError } from './MarketInputError.ts'
import { marketTypes, type MarketDomain, type MeterReading, type Order } from './typedData.ts'

/** An EIP-2098 compact signature as the contract takes it. */
export type CompactSignature = { r: Hex; vs: Hex }
export type SignedOrder = Order & CompactSignature
export type SignedMeterReading = MeterReading & CompactSignature

/** r, s, v (65 bytes) to EIP-2098 r, yParity << 255 | s; kept free of viem's main entry
 * so a site process starts fast. */
function toCompact(signature: Hex): CompactSignature {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature))
    throw new MarketInputError('signTypedData result', 'a 65-byte signature', `${(signature.length - 2) / 2} bytes`)
  const r = `0x${signature.slice(2, 66)}` as Hex
  const s = BigInt(`0x${signature.slice(66, 130)}`)
  const v = Number.parseInt(signature.slice(130, 132), 16)
  const yParity = BigInt(v >= 27 ? v - 27 : v)
  return { r, vs: `0x${((yParity << 255n) | s).toString(16).padStart(64, '0')}` }
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
