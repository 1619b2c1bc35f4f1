// The wire form of a live message (core/market/PROTOCOL.md, "Payloads"): one JSON object,
// integers above 2^53 as decimal strings, strict objects, validated once at this edge.
import { z } from 'zod'
import type { CompactSignature } from '../signMarketData.ts'
import type { MeterReading, Order } from '../typedData.ts'
import type { PresenceBody, SignedClearingBody } from './liveTypedData.ts'
import type { LiveKind } from './marketTopics.ts'

/** The most bytes a message of each kind may have; checked before parsing. */
export const maxLiveMessageBytes: Record<LiveKind, number> = { order: 1024, clearing: 65_536, reading: 1024, presence: 1024 }

const uint = (bits: number) => z.number().int().min(0).max(2 ** bits - 1)
const uint64 = z
  .string()
  .regex(/^(0|[1-9]\d{0,19})$/, 'a decimal integer string')
  .transform((s) => BigInt(s))
  .refine((v) => v < 2n ** 64n, 'below 2^64')
const word = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'a 32-byte word 0x + 64 hex digits') as unknown as z.ZodType<`0x${string}`>
const signature = { r: word, vs: word }

const orderBody = z.strictObject({ siteId: uint(32), interval: uint64, side: z.union([z.literal(0), z.literal(1)]), energyWh: uint(32), limitPrice: uint64, deadline: uint64 })
const readingBody = z.strictObject({ siteId: uint(32), interval: uint64, importWh: uint(32), exportWh: uint(32) })
const clearingBody = z.strictObject({
  interval: uint64,
  priced: z.boolean(),
  price: uint64,
  // the contract takes at most 255 orders and matches per commit (8-bit counts)
  orders: z.array(word).max(255),
  matches: z.array(z.strictObject({ sellerSiteId: uint(32), buyerSiteId: uint(32), energyWh: uint(32) })).max(255),
  deadline: uint64,
})
const presenceBody = z.strictObject({ role: z.union([z.literal(0), z.literal(1)]), siteId: uint(32), online: z.boolean(), epoch: uint64, deadline: uint64 })

/** A live message as it is on the wire, parsed. */
export const liveMessageSchema = z.discriminatedUnion('kind', [
  z.strictObject({ v: z.literal(1), kind: z.literal('order'), body: orderBody, ...signature }),
  z.strictObject({ v: z.literal(1), kind: z.literal('clearing'), body: clearingBody, ...signature }),
  z.strictObject({ v: z.literal(1), kind: z.literal('reading'), body: readingBody, ...signature }),
  z.strictObject({ v: z.literal(1), kind: z.literal('presence'), body: presenceBody, ...signature }),
]).transform(({ v: _version, ...message }) => message)

/** A live message: what was signed (body) and the compact signature over it. */
export type LiveMessage =
  | ({ kind: 'order'; body: Order } & CompactSignature)
  | ({ kind: 'clearing'; body: SignedClearingBody } & CompactSignature)
  | ({ kind: 'reading'; body: MeterReading } & CompactSignature)
  | ({ kind: 'presence'; body: PresenceBody } & CompactSignature)

// a check that the schema's output is a LiveMessage (a compile error here means they drifted)
type Parsed = z.infer<typeof liveMessageSchema>
const _sameShape = (m: Parsed): LiveMessage => m
void _sameShape

/** The bytes of a live message on the wire. */
export function encodeLiveMessage(message: LiveMessage): Buffer {
  const { kind, body, r, vs } = message
  return Buffer.from(JSON.stringify({ v: 1, kind, body, r, vs }, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)))
}
