// EIP-712 types of the live protocol's own messages (core/market/PROTOCOL.md). Orders and
// meter readings keep the contract's types (../typedData.ts); these two never reach the
// contract, so they live here, signed under the same market domain.
import { marketTypes } from '../typedData.ts'

/** EIP-712 types of every live message: the contract's Order and MeterReading, and the operator's Clearing and a node's Presence. */
export const liveTypes = {
  ...marketTypes,
  Match: [
    { name: 'sellerSiteId', type: 'uint32' },
    { name: 'buyerSiteId', type: 'uint32' },
    { name: 'energyWh', type: 'uint32' },
  ],
  Clearing: [
    { name: 'interval', type: 'uint64' },
    { name: 'priced', type: 'bool' },
    { name: 'price', type: 'uint64' },
    { name: 'orders', type: 'bytes32[]' },
    { name: 'matches', type: 'Match[]' },
    { name: 'deadline', type: 'uint64' },
  ],
  Presence: [
    { name: 'role', type: 'uint8' },
    { name: 'siteId', type: 'uint32' },
    { name: 'online', type: 'bool' },
    { name: 'epoch', type: 'uint64' },
    { name: 'deadline', type: 'uint64' },
  ],
} as const

export const ROLE_SITE = 0
export const ROLE_OPERATOR = 1
export type PresenceRole = typeof ROLE_SITE | typeof ROLE_OPERATOR

/** The operator's announcement of one interval's clearing: the orders it used (EIP-712 digests, site id ascending) and the matches. */
export type SignedClearingBody = {
  interval: bigint
  priced: boolean
  /** 0 when nothing trades (priced false) */
  price: bigint
  orders: readonly `0x${string}`[]
  matches: readonly { sellerSiteId: number; buyerSiteId: number; energyWh: number }[]
  deadline: bigint
}

/** A node online (retained) or offline (its last will) since `epoch` (unix seconds of its connection). */
export type PresenceBody = {
  role: PresenceRole
  siteId: number
  online: boolean
  epoch: bigint
  deadline: bigint
}

/** How long a presence message stays valid after its connection began; a node reconnects before. */
export const presenceTtlSec = 7n * 86_400n
