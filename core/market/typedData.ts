// EIP-712 typed data shared with contracts/src/EnergyMarket.sol (ORDER_TYPEHASH and
// READING_TYPEHASH there must spell exactly these types; a test compares them).
import type { Address } from 'viem'

export const marketDomainName = 'GridMesh Market'
export const marketDomainVersion = '1'

/** EIP-712 types of a site's order and of a meter reading. */
export const marketTypes = {
  Order: [
    { name: 'siteId', type: 'uint32' },
    { name: 'interval', type: 'uint64' },
    { name: 'side', type: 'uint8' },
    { name: 'energyWh', type: 'uint32' },
    { name: 'limitPrice', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
  MeterReading: [
    { name: 'siteId', type: 'uint32' },
    { name: 'interval', type: 'uint64' },
    { name: 'importWh', type: 'uint32' },
    { name: 'exportWh', type: 'uint32' },
  ],
} as const

export const SIDE_BID = 0
export const SIDE_ASK = 1
export type OrderSide = typeof SIDE_BID | typeof SIDE_ASK

/** An order as signed: `limitPrice` in settlement-token base units per kWh. */
export type Order = {
  siteId: number
  interval: bigint
  side: OrderSide
  energyWh: number
  limitPrice: bigint
  deadline: bigint
}

/** Energy through a site's meter during one interval, as the meter signs it. */
export type MeterReading = {
  siteId: number
  interval: bigint
  importWh: number
  exportWh: number
}

export type MarketDomain = {
  name: typeof marketDomainName
  version: typeof marketDomainVersion
  chainId: number
  verifyingContract: Address
}

/** The EIP-712 domain of one deployed market: replay-safe across chains and contracts. */
export function createMarketDomain(chainId: number, verifyingContract: Address): MarketDomain {
  return { name: marketDomainName, version: marketDomainVersion, chainId, verifyingContract }
}
